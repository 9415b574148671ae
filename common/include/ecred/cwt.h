/*
 * cwt.h - CWT claim keys (RFC 8392 section 4, RFC 8747 cnf, the IETF token
 * status list draft, and ecred's private-use claims), defined once for every
 * format we sign: credentials, status list tokens and the trust list.
 *
 * Must never hold anything but wire constants: a key's meaning is in spec/.
 * Private-use keys are below -65536 (RFC 8392 section 4) and are append-only.
 */
#ifndef ECRED_CWT_H
#define ECRED_CWT_H

/* Registered claims (RFC 8392 section 4, IANA "CBOR Web Token Claims"). */
#define ECRED_CWT_ISS 1
#define ECRED_CWT_SUB 2
#define ECRED_CWT_AUD 3
#define ECRED_CWT_EXP 4
#define ECRED_CWT_NBF 5
#define ECRED_CWT_IAT 6
#define ECRED_CWT_CTI 7
#define ECRED_CWT_CNF 8            /* RFC 8747: proof-of-possession key */

/* Token status list draft (draft-ietf-oauth-status-list, CWT form). */
#define ECRED_CWT_STATUS_LIST 65533 /* the list itself, in a status list token */
#define ECRED_CWT_TTL 65534         /* seconds a status list token may be cached */
#define ECRED_CWT_STATUS 65535      /* a referenced token's pointer into a list */

/* ecred private-use claims (spec/credential.md, spec/trustlist.md). */
#define ECRED_CWT_CREDENTIAL (-65537)       /* the credential map */
#define ECRED_CWT_TRUSTLIST_SEQ (-65538)    /* trust list sequence number */
#define ECRED_CWT_TRUSTLIST_ENTRIES (-65539) /* trust list entries */

#endif
