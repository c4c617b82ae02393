/* Private to the programs of src/cli: the final report of llama7b_token
 * (text on stdout, optional JSON file). */
#ifndef CARACAL_CLI_IMPL_H
#define CARACAL_CLI_IMPL_H

#include <stdio.h>
#include "job.h"

typedef struct run_info {
    const char *weights;      /* "synthetic llama-7b", a bundle path, ... */
    const char *reveal, *approx;
    int n_prompt, n_new, threads;
    bool insecure;
    const char *text;         /* decoded generated text, or NULL */
    const cc_link_profile *link; /* --link-profile of this run (never NULL) */
    bool remote;              /* parties on --config: their profile is their own flag */
} run_info;

void report_print(FILE *out, const run_info *info, const cc_secure_result *r);
int report_json(const char *path, const run_info *info, const cc_secure_result *r);

#endif
