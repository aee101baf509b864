/* Unit tests for minisign-format keys and signatures: sign and verify in C,
 * tampering caught, bounded parsers, and, where the minisign tool is
 * installed, both directions checked against it (our signature accepted by
 * `minisign -V`, minisign's signature accepted by our verifier). */
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "devkey.h"
#include "fsutil.h"
#include "minisign.h"
#include "t.h"

static struct minisign_secret sec;
static struct minisign_pub pub;

static void test_roundtrip(void)
{
	char err[256];
	struct buf sig;
	struct minisign_sig s;
	const char *msg = "{\"format\":1}";
	buf_init(&sig, MINISIGN_SIGFILE_MAX);
	CHECK(minisign_sign(&sec, msg, strlen(msg), "evcap bundle", "timestamp:1\tfile:m.json\thashed",
			    &sig, err, sizeof err) == 0);
	CHECK(minisign_sig_parse(sig.data, sig.len, &s, err, sizeof err) == 0);
	CHECK(s.prehashed == 1);
	CHECK_STR(s.trusted, "timestamp:1\tfile:m.json\thashed");
	CHECK(minisign_verify(&pub, &s, msg, strlen(msg), err, sizeof err) == 0);
	/* one byte changed in the message */
	CHECK(minisign_verify(&pub, &s, "{\"format\":2}", 12, err, sizeof err) == EV_EAUTH);
	/* trusted comment changed: the global signature fails */
	struct minisign_sig s2 = s;
	s2.trusted[0] = 'T';
	CHECK(minisign_verify(&pub, &s2, msg, strlen(msg), err, sizeof err) == EV_EAUTH);
	CHECK(strstr(err, "trusted comment") != NULL);
	/* another key */
	struct minisign_secret other;
	struct minisign_pub opub;
	CHECK(minisign_keygen(&other, &opub, err, sizeof err) == 0);
	CHECK(minisign_verify(&opub, &s, msg, strlen(msg), err, sizeof err) == EV_EAUTH);
	CHECK(strstr(err, "signed by key") != NULL);
	minisign_secret_wipe(&other);
	buf_free(&sig);
}

static void test_key_formats(void)
{
	char err[256], id[MINISIGN_KEYID_HEX];
	struct buf b;
	struct minisign_pub p2;
	struct minisign_secret s2;
	buf_init(&b, 4096);
	CHECK(minisign_pub_file(&pub, NULL, &b) == 0);
	CHECK(strncmp(b.data, "untrusted comment: minisign public key ", 39) == 0);
	minisign_keyid_hex(pub.keyid, id);
	CHECK(strstr(b.data, id) != NULL);
	CHECK(minisign_pub_parse(b.data, b.len, &p2, err, sizeof err) == 0);
	CHECK(memcmp(&p2, &pub, sizeof pub) == 0);
	/* the bare base64 line alone also parses */
	const char *nl = strchr(b.data, '\n');
	CHECK(minisign_pub_parse(nl + 1, b.len - (size_t)(nl + 1 - b.data), &p2, err, sizeof err) == 0);
	CHECK(minisign_pub_parse("RWQ", 3, &p2, err, sizeof err) == EV_EINVAL);
	CHECK(minisign_pub_parse("", 0, &p2, err, sizeof err) == EV_EINVAL);
	CHECK(minisign_secret_file(&sec, &b) == 0);
	CHECK(minisign_secret_parse(b.data, b.len, &s2, err, sizeof err) == 0);
	CHECK(memcmp(&s2, &sec, sizeof sec) == 0);
	minisign_secret_wipe(&s2);
	secure_wipe(b.data, b.len);
	uint8_t kid[8] = {0xe6, 0x24, 0xa7, 0x2a, 0x32, 0xc3, 0xe0, 0x08};
	minisign_keyid_hex(kid, id);
	CHECK_STR(id, "8E0C3322AA724E6"); /* as minisign 0.11 printed this id */
	buf_free(&b);
}

/* `evcap key show` names the device in the comment line; `key trust`
 * reads it back, and minisign's parser still takes the file. */
static void test_key_device_comment(void)
{
	char err[256], dev[DEVKEY_DEVICE_MAX + 1];
	struct buf b;
	struct minisign_pub p2;
	static const char dev_id[] = "0123456789abcdef0123456789abcdef";
	buf_init(&b, 4096);
	CHECK(devkey_pub_text(&pub, dev_id, &b) == 0);
	CHECK(minisign_pub_parse(b.data, b.len, &p2, err, sizeof err) == 0);
	CHECK(memcmp(&p2, &pub, sizeof pub) == 0);
	CHECK(devkey_pub_device(b.data, b.len, dev) == 1);
	CHECK_STR(dev, dev_id);
	/* a plain minisign key file names no device */
	CHECK(minisign_pub_file(&pub, NULL, &b) == 0);
	CHECK(devkey_pub_device(b.data, b.len, dev) == 0);
	CHECK(devkey_pub_device("RWQabc\n", 7, dev) == 0);
	/* only the first line counts, with CRLF too */
	static const char crlf[] =
		"untrusted comment: minisign public key 1 of evcap device ab12\r\nRWQ";
	CHECK(devkey_pub_device(crlf, sizeof crlf - 1, dev) == 1);
	CHECK_STR(dev, "ab12");
	static const char second[] = "untrusted comment: x\nof evcap device ab12\n";
	CHECK(devkey_pub_device(second, sizeof second - 1, dev) == 0);
	/* a named device that is not lowercase hex, or too long, is an error */
	static const char *const bad[] = {
		"untrusted comment: minisign public key 1 of evcap device AB12\nRWQ",
		"untrusted comment: minisign public key 1 of evcap device ../x\nRWQ",
		"untrusted comment: minisign public key 1 of evcap device \nRWQ",
		("untrusted comment: k of evcap device "
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\n"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(devkey_pub_device(bad[i], strlen(bad[i]), dev) == -1);
	CHECK(devkey_device_id_valid(dev_id));
	CHECK(!devkey_device_id_valid(""));
	CHECK(!devkey_device_id_valid("0123X"));
	buf_free(&b);
}

static void test_sig_parser_bounds(void)
{
	char err[256];
	struct minisign_sig s;
	CHECK(minisign_sig_parse("", 0, &s, err, sizeof err) == EV_EINVAL);
	CHECK(minisign_sig_parse("a\nb\nc\nd\ne\n", 10, &s, err, sizeof err) == EV_EINVAL);
	const char *three = "untrusted comment: x\nRUQ=\ntrusted comment: y\n";
	CHECK(minisign_sig_parse(three, strlen(three), &s, err, sizeof err) == EV_EINVAL);
	char *big = malloc(MINISIGN_SIGFILE_MAX + 10);
	memset(big, 'A', MINISIGN_SIGFILE_MAX + 10);
	CHECK(minisign_sig_parse(big, MINISIGN_SIGFILE_MAX + 10, &s, err, sizeof err) == EV_EINVAL);
	free(big);
}

/* Writes a file in dir; returns 0 on success. */
static int put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return fs_write_atomic(path, p, n, 0644, 0, err, sizeof err);
}

static void test_minisign_tool(void)
{
	if (system("command -v minisign >/dev/null 2>&1") != 0)
		T_SKIP("minisign is not installed (apt-get install minisign)");
	char dir[] = "/tmp/evcap-minisign-XXXXXX", cmd[1024], err[256];
	CHECK(mkdtemp(dir) != NULL);
	struct buf b, sig;
	buf_init(&b, 4096);
	buf_init(&sig, MINISIGN_SIGFILE_MAX);
	const char *msg = "manifest bytes\n\xe6\xa1\x88 with UTF-8";
	CHECK(minisign_pub_file(&pub, NULL, &b) == 0);
	CHECK(put(dir, "device.pub", b.data, b.len) == 0);
	CHECK(put(dir, "m.json", msg, strlen(msg)) == 0);
	CHECK(minisign_sign(&sec, msg, strlen(msg), "signature from evcap device key",
			    "timestamp:1700000000\tfile:m.json\thashed", &sig, err, sizeof err) == 0);
	CHECK(put(dir, "m.json.minisig", sig.data, sig.len) == 0);
	snprintf(cmd, sizeof cmd, "minisign -q -Vm %s/m.json -p %s/device.pub", dir, dir);
	CHECK(system(cmd) == 0);
	/* and a tampered file is refused by the tool */
	CHECK(put(dir, "m.json", "manifest bytes!", 15) == 0);
	snprintf(cmd, sizeof cmd, "minisign -q -Vm %s/m.json -p %s/device.pub 2>/dev/null", dir, dir);
	CHECK(system(cmd) != 0);

	/* the other direction: a key and signature made by minisign itself */
	snprintf(cmd, sizeof cmd,
		 "cd %s && minisign -G -W -p t.pub -s t.key >/dev/null && printf 'x' > t.txt && "
		 "minisign -S -s t.key -m t.txt >/dev/null", dir);
	CHECK(system(cmd) == 0);
	struct buf pb, sb;
	char path[512];
	buf_init(&pb, 4096);
	buf_init(&sb, MINISIGN_SIGFILE_MAX);
	snprintf(path, sizeof path, "%s/t.pub", dir);
	CHECK(fs_read_file(path, 4096, &pb, err, sizeof err) == 0);
	snprintf(path, sizeof path, "%s/t.txt.minisig", dir);
	CHECK(fs_read_file(path, MINISIGN_SIGFILE_MAX, &sb, err, sizeof err) == 0);
	struct minisign_pub tp;
	struct minisign_sig ts;
	CHECK(minisign_pub_parse(pb.data, pb.len, &tp, err, sizeof err) == 0);
	CHECK(minisign_sig_parse(sb.data, sb.len, &ts, err, sizeof err) == 0);
	CHECK(minisign_verify(&tp, &ts, "x", 1, err, sizeof err) == 0);
	CHECK(minisign_verify(&tp, &ts, "y", 1, err, sizeof err) == EV_EAUTH);
	buf_free(&pb);
	buf_free(&sb);
	buf_free(&b);
	buf_free(&sig);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	char err[256];
	if (minisign_keygen(&sec, &pub, err, sizeof err) != 0) {
		printf("FAIL keygen: %s\n", err);
		return 1;
	}
	RUN(test_roundtrip);
	RUN(test_key_formats);
	RUN(test_key_device_comment);
	RUN(test_sig_parser_bounds);
	RUN(test_minisign_tool);
	minisign_secret_wipe(&sec);
	T_EXIT();
}
