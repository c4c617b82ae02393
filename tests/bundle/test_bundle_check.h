/* Shared by the bundle tests: open the three parties' bundles, walk every
 * layer, check the replicated pairs and that the shares reconstruct the
 * source's fixed-point weights exactly (docs/BUNDLES.md). */
#ifndef CARACAL_TEST_BUNDLE_CHECK_H
#define CARACAL_TEST_BUNDLE_CHECK_H

#include "bundle.h"

cc_bundle *open_party(const char *dir, int party, int f, bool verify);
void check_round_trip(const char *dir, const cc_tensor_source *src, unsigned f);

#endif
