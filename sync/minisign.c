/*
 * minisign-compatible keys and signatures on top of libsodium. Every parser
 * works on a bounded text that need not be NUL-terminated and copies what
 * it keeps into fixed-size fields, so a hostile .minisig cannot make it read
 * or allocate beyond its caps.
 */
#include "minisign.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ALG_PLAIN "Ed"
#define ALG_HASHED "ED"
#define BLAKE2B_512 64
/* "Ed"/"ED" + key id + 64 bytes: the longest binary line we decode */
#define SIG_BIN_LEN (2 + MINISIGN_KEYID_LEN + MINISIGN_SIG_LEN)
#define PUB_BIN_LEN (2 + MINISIGN_KEYID_LEN + MINISIGN_PK_LEN)
#define SEC_BIN_LEN (2 + MINISIGN_KEYID_LEN + MINISIGN_SK_LEN)
#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "

static int sodium_ready(char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return err_set(err, errlen, EV_ERR, "libsodium could not be initialised");
	return 0;
}

int minisign_keygen(struct minisign_secret *sec, struct minisign_pub *pub, char *err,
		    size_t errlen)
{
	int rc = sodium_ready(err, errlen);
	if (rc)
		return rc;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	randombytes_buf(sec->keyid, sizeof sec->keyid);
	if (crypto_sign_keypair(pk, sec->sk) != 0) {
		minisign_secret_wipe(sec);
		return err_set(err, errlen, EV_ERR, "could not make an Ed25519 key pair");
	}
	if (pub)
		minisign_secret_pub(sec, pub);
	return 0;
}

void minisign_secret_pub(const struct minisign_secret *sec, struct minisign_pub *pub)
{
	memcpy(pub->keyid, sec->keyid, sizeof pub->keyid);
	/* libsodium keeps the public key in the second half of the secret key */
	memcpy(pub->pk, sec->sk + 32, sizeof pub->pk);
}

void minisign_secret_wipe(struct minisign_secret *sec)
{
	if (sec)
		secure_wipe(sec, sizeof *sec);
}

void minisign_keyid_hex(const uint8_t keyid[MINISIGN_KEYID_LEN], char out[MINISIGN_KEYID_HEX])
{
	/* minisign reads the id as a little-endian integer and prints it %X */
	uint64_t v = 0;
	for (int i = MINISIGN_KEYID_LEN - 1; i >= 0; i--)
		v = v << 8 | keyid[i];
	static const char digits[] = "0123456789ABCDEF";
	char tmp[MINISIGN_KEYID_HEX];
	int k = 0;
	do {
		tmp[k++] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	for (int i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	out[k] = '\0';
}

static int b64_append(struct buf *out, const uint8_t *bin, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *tmp = xmalloc(len);
	sodium_bin2base64(tmp, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
	int rc = buf_puts(out, tmp);
	secure_wipe(tmp, len);
	free(tmp);
	return rc;
}

/* Decodes one base64 line of exactly `want` bytes. */
static int b64_decode_exact(const char *line, size_t len, uint8_t *bin, size_t want)
{
	size_t got = 0;
	if (len > 4 * ((want + 2) / 3) + 4)
		return -1;
	if (sodium_base642bin(bin, want, line, len, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == want ? 0 : -1;
}

int minisign_pub_base64(const struct minisign_pub *pub, struct buf *out)
{
	uint8_t bin[PUB_BIN_LEN];
	memcpy(bin, ALG_PLAIN, 2);
	memcpy(bin + 2, pub->keyid, MINISIGN_KEYID_LEN);
	memcpy(bin + 2 + MINISIGN_KEYID_LEN, pub->pk, MINISIGN_PK_LEN);
	buf_reset(out);
	return b64_append(out, bin, sizeof bin);
}

int minisign_pub_file(const struct minisign_pub *pub, const char *comment_tail, struct buf *out)
{
	char id[MINISIGN_KEYID_HEX];
	struct buf line;
	int rc;
	minisign_keyid_hex(pub->keyid, id);
	buf_init(&line, 256);
	rc = minisign_pub_base64(pub, &line);
	buf_reset(out);
	if (!rc)
		rc = buf_printf(out, UNTRUSTED_PREFIX "minisign public key %s%s\n%s\n", id,
				comment_tail ? comment_tail : "", line.data);
	buf_free(&line);
	return rc;
}

/*
 * Splits text into at most `max` lines (LF or CRLF), recording where each
 * starts and its length. Returns the number of lines or -1 if there are
 * more than max non-empty lines.
 */
static int split_lines(const char *text, size_t n, const char **start, size_t *len, int max)
{
	int k = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && text[j] != '\n')
			j++;
		size_t l = j - i;
		if (l && text[i + l - 1] == '\r')
			l--;
		if (l) {
			if (k == max)
				return -1;
			start[k] = text + i;
			len[k] = l;
			k++;
		}
		i = j + 1;
	}
	return k;
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0;
}

int minisign_pub_parse(const char *text, size_t n, struct minisign_pub *pub, char *err,
		       size_t errlen)
{
	const char *line[2];
	size_t len[2];
	uint8_t bin[PUB_BIN_LEN];
	if (n > 4096)
		return err_set(err, errlen, EV_EINVAL, "public key text is too long");
	int k = split_lines(text, n, line, len, 2);
	const char *l = NULL;
	size_t ll = 0;
	if (k == 1 && !has_prefix(line[0], len[0], UNTRUSTED_PREFIX)) {
		l = line[0];
		ll = len[0];
	} else if (k == 2 && has_prefix(line[0], len[0], UNTRUSTED_PREFIX)) {
		l = line[1];
		ll = len[1];
	} else {
		return err_set(err, errlen, EV_EINVAL,
			       "not a minisign public key (expected a comment line and a base64 line)");
	}
	if (b64_decode_exact(l, ll, bin, sizeof bin) != 0 || memcmp(bin, ALG_PLAIN, 2) != 0)
		return err_set(err, errlen, EV_EINVAL,
			       "not a minisign Ed25519 public key (bad base64 or algorithm)");
	memcpy(pub->keyid, bin + 2, MINISIGN_KEYID_LEN);
	memcpy(pub->pk, bin + 2 + MINISIGN_KEYID_LEN, MINISIGN_PK_LEN);
	return 0;
}

int minisign_secret_file(const struct minisign_secret *sec, struct buf *out)
{
	char id[MINISIGN_KEYID_HEX];
	uint8_t bin[SEC_BIN_LEN];
	int rc;
	minisign_keyid_hex(sec->keyid, id);
	memcpy(bin, ALG_PLAIN, 2);
	memcpy(bin + 2, sec->keyid, MINISIGN_KEYID_LEN);
	memcpy(bin + 2 + MINISIGN_KEYID_LEN, sec->sk, MINISIGN_SK_LEN);
	buf_reset(out);
	rc = buf_printf(out, UNTRUSTED_PREFIX "evcap device secret key %s\n", id);
	if (!rc)
		rc = b64_append(out, bin, sizeof bin);
	if (!rc)
		rc = buf_putc(out, '\n');
	secure_wipe(bin, sizeof bin);
	return rc;
}

int minisign_secret_parse(const char *text, size_t n, struct minisign_secret *sec, char *err,
			  size_t errlen)
{
	const char *line[2];
	size_t len[2];
	uint8_t bin[SEC_BIN_LEN];
	int rc = 0;
	if (n > 4096)
		return err_set(err, errlen, EV_EINVAL, "secret key file is too long");
	int k = split_lines(text, n, line, len, 2);
	if (k != 2 || !has_prefix(line[0], len[0], UNTRUSTED_PREFIX) ||
	    b64_decode_exact(line[1], len[1], bin, sizeof bin) != 0 ||
	    memcmp(bin, ALG_PLAIN, 2) != 0) {
		rc = err_set(err, errlen, EV_EINVAL, "not an evcap device secret key file");
		goto out;
	}
	memcpy(sec->keyid, bin + 2, MINISIGN_KEYID_LEN);
	memcpy(sec->sk, bin + 2 + MINISIGN_KEYID_LEN, MINISIGN_SK_LEN);
out:
	secure_wipe(bin, sizeof bin);
	return rc;
}

static int line_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			return 0;
	return 1;
}

int minisign_sign(const struct minisign_secret *sec, const void *msg, size_t n,
		  const char *untrusted, const char *trusted, struct buf *out, char *err,
		  size_t errlen)
{
	uint8_t hash[BLAKE2B_512];
	uint8_t bin[SIG_BIN_LEN];
	uint8_t global[MINISIGN_SIG_LEN];
	uint8_t *gmsg = NULL;
	size_t tlen = strlen(trusted);
	int rc = sodium_ready(err, errlen);
	if (rc)
		return rc;
	if (tlen > MINISIGN_TRUSTED_MAX || strlen(untrusted) > 1000 || !line_ok(trusted) ||
	    !line_ok(untrusted))
		return err_set(err, errlen, EV_EINVAL,
			       "signature comments must be single lines within minisign's limits");

	crypto_generichash(hash, sizeof hash, msg, n, NULL, 0);
	memcpy(bin, ALG_HASHED, 2);
	memcpy(bin + 2, sec->keyid, MINISIGN_KEYID_LEN);
	uint8_t *sig = bin + 2 + MINISIGN_KEYID_LEN;
	if (crypto_sign_detached(sig, NULL, hash, sizeof hash, sec->sk) != 0) {
		rc = err_set(err, errlen, EV_ERR, "Ed25519 signing failed");
		goto out;
	}
	/* the global signature covers the signature and the trusted comment,
	 * so the comment cannot be swapped onto another signature */
	gmsg = xmalloc(MINISIGN_SIG_LEN + tlen);
	memcpy(gmsg, sig, MINISIGN_SIG_LEN);
	memcpy(gmsg + MINISIGN_SIG_LEN, trusted, tlen);
	if (crypto_sign_detached(global, NULL, gmsg, MINISIGN_SIG_LEN + tlen, sec->sk) != 0) {
		rc = err_set(err, errlen, EV_ERR, "Ed25519 signing failed");
		goto out;
	}
	buf_reset(out);
	if (buf_printf(out, UNTRUSTED_PREFIX "%s\n", untrusted) || b64_append(out, bin, sizeof bin) ||
	    buf_printf(out, "\n" TRUSTED_PREFIX "%s\n", trusted) ||
	    b64_append(out, global, sizeof global) || buf_putc(out, '\n'))
		rc = err_set(err, errlen, EV_ELIMIT, "signature text does not fit its buffer");
out:
	free(gmsg);
	return rc;
}

int minisign_sig_parse(const char *text, size_t n, struct minisign_sig *sig, char *err,
		       size_t errlen)
{
	const char *line[4];
	size_t len[4];
	uint8_t bin[SIG_BIN_LEN];
	if (n > MINISIGN_SIGFILE_MAX)
		return err_set(err, errlen, EV_EINVAL, "signature file is larger than %d bytes",
			       MINISIGN_SIGFILE_MAX);
	int k = split_lines(text, n, line, len, 4);
	if (k != 4)
		return err_set(err, errlen, EV_EINVAL,
			       "signature file does not have minisign's four lines");
	if (!has_prefix(line[0], len[0], UNTRUSTED_PREFIX))
		return err_set(err, errlen, EV_EINVAL,
			       "signature file does not start with an untrusted comment");
	if (b64_decode_exact(line[1], len[1], bin, sizeof bin) != 0)
		return err_set(err, errlen, EV_EINVAL, "signature line is not valid base64");
	if (memcmp(bin, ALG_HASHED, 2) == 0)
		sig->prehashed = 1;
	else if (memcmp(bin, ALG_PLAIN, 2) == 0)
		sig->prehashed = 0;
	else
		return err_set(err, errlen, EV_EINVAL, "unknown signature algorithm");
	memcpy(sig->keyid, bin + 2, MINISIGN_KEYID_LEN);
	memcpy(sig->sig, bin + 2 + MINISIGN_KEYID_LEN, MINISIGN_SIG_LEN);
	size_t tp = strlen(TRUSTED_PREFIX);
	if (!has_prefix(line[2], len[2], TRUSTED_PREFIX) || len[2] - tp > MINISIGN_TRUSTED_MAX)
		return err_set(err, errlen, EV_EINVAL, "signature file has no valid trusted comment");
	memcpy(sig->trusted, line[2] + tp, len[2] - tp);
	sig->trusted[len[2] - tp] = '\0';
	if (b64_decode_exact(line[3], len[3], sig->global_sig, MINISIGN_SIG_LEN) != 0)
		return err_set(err, errlen, EV_EINVAL, "global signature line is not valid base64");
	return 0;
}

int minisign_verify(const struct minisign_pub *pub, const struct minisign_sig *sig,
		    const void *msg, size_t n, char *err, size_t errlen)
{
	uint8_t hash[BLAKE2B_512];
	uint8_t *gmsg = NULL;
	size_t tlen = strlen(sig->trusted);
	char want[MINISIGN_KEYID_HEX], got[MINISIGN_KEYID_HEX];
	int rc = sodium_ready(err, errlen);
	if (rc)
		return rc;
	if (memcmp(pub->keyid, sig->keyid, MINISIGN_KEYID_LEN) != 0) {
		minisign_keyid_hex(pub->keyid, want);
		minisign_keyid_hex(sig->keyid, got);
		return err_set(err, errlen, EV_EAUTH,
			       "signed by key %s, not by the expected key %s", got, want);
	}
	int bad;
	if (sig->prehashed) {
		crypto_generichash(hash, sizeof hash, msg, n, NULL, 0);
		bad = crypto_sign_verify_detached(sig->sig, hash, sizeof hash, pub->pk);
	} else {
		bad = crypto_sign_verify_detached(sig->sig, msg, n, pub->pk);
	}
	if (bad) {
		rc = err_set(err, errlen, EV_EAUTH,
			     "signature does not match the content (altered or forged)");
		goto out;
	}
	gmsg = xmalloc(MINISIGN_SIG_LEN + tlen);
	memcpy(gmsg, sig->sig, MINISIGN_SIG_LEN);
	memcpy(gmsg + MINISIGN_SIG_LEN, sig->trusted, tlen);
	if (crypto_sign_verify_detached(sig->global_sig, gmsg, MINISIGN_SIG_LEN + tlen, pub->pk))
		rc = err_set(err, errlen, EV_EAUTH,
			     "trusted comment of the signature was altered (global signature fails)");
out:
	free(gmsg);
	return rc;
}
