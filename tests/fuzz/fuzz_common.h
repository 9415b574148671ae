/*
 * fuzz_common.h - what every fuzz harness in tests/fuzz shares: the libFuzzer
 * entry point's prototype, a property-check macro and the fixed keys loaded
 * once from the repository's test vectors.
 *
 * Harnesses are compiled twice: into libFuzzer executables (clang,
 * -fsanitize=fuzzer) and into replay executables (any compiler, replay_main.c)
 * that run the stored corpus and regression inputs as ordinary ctest tests.
 * Nothing here may depend on libFuzzer itself.
 */
#ifndef ECRED_FUZZ_COMMON_H
#define ECRED_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ecred/crypto.h"

/* The entry point libFuzzer (or replay_main.c) calls once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property is a bug: abort so libFuzzer records the input as a crash. */
#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Fixed time the harnesses verify at: 2026-11-27T01:00:00Z, inside the validity
 * of every stored vector (credentials, trust list, status lists). */
#define FUZZ_NOW ((int64_t)1795741200)

/* Keys from tests/vectors, loaded on first use and kept for the process's life
 * (reachable, so never reported as leaks). A missing file aborts: the harness
 * would otherwise test nothing. */
const ecred_key *fuzz_issuer_public(void);   /* tests/vectors/keys/test-issuer.pub.pem */
const ecred_key *fuzz_issuer_private(void);  /* tests/vectors/keys/test-issuer.key.pem */
const ecred_key *fuzz_eddsa_public(void);    /* tests/vectors/keys/test-eddsa.pub.pem */
const ecred_key *fuzz_trust_root(void);      /* tests/vectors/trustlist/root.pub.pem */
const ecred_key *fuzz_slist_key(void);       /* tests/vectors/statuslist/ietf/example-key.pub.pem */
const ecred_key *fuzz_trust_root_private(void); /* tests/vectors/trustlist/root.key.pem */
/* An ES256 key generated on first use, to sign fuzzed status list payloads. */
const ecred_key *fuzz_generated_key(void);

#endif
