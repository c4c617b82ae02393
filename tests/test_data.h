/* Test-only: where the real model test data lives (tests/data), and what a
 * test does when it is missing: skip with a message on a developer's
 * machine, fail under CI (CI=true or CARACAL_REQUIRE_DATA=1), so a CI run
 * never passes by skipping the model tests. */
#ifndef CARACAL_TEST_DATA_H
#define CARACAL_TEST_DATA_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *cc_test_models_dir(void)
{
    const char *dir = getenv("CARACAL_MODELS");
    return dir && *dir ? dir : CARACAL_MODELS_DIR;
}

static inline bool cc_test_data_required(void)
{
    const char *ci = getenv("CI"), *req = getenv("CARACAL_REQUIRE_DATA");
    return (ci && strcmp(ci, "true") == 0) || (req && strcmp(req, "1") == 0);
}

/* Inside a cmocka test: the data at `path` is missing. */
#define CC_TEST_MISSING_DATA(path) do {                                              \
        if (cc_test_data_required())                                                 \
            fail_msg("%s not readable and test data is required (CI)", (path));      \
        printf("SKIP: %s not readable (set CARACAL_MODELS)\n", (path));              \
        skip();                                                                      \
    } while (0)

#endif
