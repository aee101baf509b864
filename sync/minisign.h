/*
 * Ed25519 keys and signatures in minisign's text formats, so that a manifest
 * signed by a field device can be checked with stock `minisign -V` as well
 * as by evcap. Pure functions over bytes: no files, no clock (the caller
 * passes the timestamp that goes into the trusted comment).
 *
 * Formats (minisign 0.11): a public key is base64("Ed" || key id[8] ||
 * pk[32]); a signature file is four lines: untrusted comment, base64("ED" ||
 * key id[8] || Ed25519(BLAKE2b-512(message))), "trusted comment: TEXT", and
 * base64(Ed25519(signature[64] || TEXT)), the "global" signature that binds
 * the trusted comment to the signature.
 */
#ifndef EVCAP_MINISIGN_H
#define EVCAP_MINISIGN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

#define MINISIGN_KEYID_LEN 8
#define MINISIGN_PK_LEN 32
#define MINISIGN_SK_LEN 64
#define MINISIGN_SIG_LEN 64
/* key id as minisign prints it: up to 16 uppercase hex digits */
#define MINISIGN_KEYID_HEX 17
/* the longest signature file accepted (minisign's own comment limits are
 * 1 KiB untrusted and 8 KiB trusted) */
#define MINISIGN_SIGFILE_MAX 12288
#define MINISIGN_TRUSTED_MAX 8192

struct minisign_pub {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t pk[MINISIGN_PK_LEN];
};

/* A secret key; wipe it with minisign_secret_wipe when done. */
struct minisign_secret {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t sk[MINISIGN_SK_LEN]; /* libsodium's seed || public key form */
};

/* Makes a new key pair with a random key id. 0 or EV_ERR. */
int minisign_keygen(struct minisign_secret *sec, struct minisign_pub *pub, char *err,
		    size_t errlen) WUR;
/* The public half of a secret key. */
void minisign_secret_pub(const struct minisign_secret *sec, struct minisign_pub *pub);
void minisign_secret_wipe(struct minisign_secret *sec);

/* The key id as minisign prints it ("8E0C3322AA724E6"). */
void minisign_keyid_hex(const uint8_t keyid[MINISIGN_KEYID_LEN], char out[MINISIGN_KEYID_HEX]);

/* The one-line base64 form of a public key ("RWQ..."), into out (cleared). */
int minisign_pub_base64(const struct minisign_pub *pub, struct buf *out) WUR;
/* The whole .pub file: "untrusted comment: minisign public key ID" and
 * comment_tail (if not NULL), a newline, then the key's line. */
int minisign_pub_file(const struct minisign_pub *pub, const char *comment_tail,
		      struct buf *out) WUR;
/* Parses either a bare base64 line or a whole .pub file (text of n bytes,
 * bounded, need not be NUL-terminated). 0 or EV_EINVAL. */
int minisign_pub_parse(const char *text, size_t n, struct minisign_pub *pub, char *err,
		       size_t errlen) WUR;

/* The secret key file (our own format, not minisign's encrypted one):
 * "untrusted comment: evcap device secret key ID\n" + base64("Ed" || key id
 * || sk). The caller wipes `out` (secure_wipe on data) after writing it. */
int minisign_secret_file(const struct minisign_secret *sec, struct buf *out) WUR;
int minisign_secret_parse(const char *text, size_t n, struct minisign_secret *sec, char *err,
			  size_t errlen) WUR;

/*
 * Signs msg (n bytes) with the prehashed algorithm: out receives the whole
 * .minisig text. `trusted` is the trusted comment (one line, no newline,
 * at most MINISIGN_TRUSTED_MAX bytes), `untrusted` the first line's text.
 */
int minisign_sign(const struct minisign_secret *sec, const void *msg, size_t n,
		  const char *untrusted, const char *trusted, struct buf *out, char *err,
		  size_t errlen) WUR;

/* A parsed signature file. */
struct minisign_sig {
	int prehashed; /* "ED" (1) or legacy "Ed" (0) */
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t sig[MINISIGN_SIG_LEN];
	char trusted[MINISIGN_TRUSTED_MAX + 1];
	uint8_t global_sig[MINISIGN_SIG_LEN];
};

/* Parses a .minisig text of n bytes (bounded). 0 or EV_EINVAL. */
int minisign_sig_parse(const char *text, size_t n, struct minisign_sig *sig, char *err,
		       size_t errlen) WUR;

/* Checks sig over msg with pub: the key ids must match, the signature and
 * the global signature over the trusted comment must both verify.
 * 0, or EV_EAUTH with err saying which check failed. */
int minisign_verify(const struct minisign_pub *pub, const struct minisign_sig *sig,
		    const void *msg, size_t n, char *err, size_t errlen) WUR;

#endif
