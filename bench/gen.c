/*
 * gen: makes the benchmark's data. A card of drone photos (real JPEGs of
 * noisy pixels, each with its own bytes, EXIF GPS and DJI XMP), handheld
 * photos with a capture time but no position, a video-sized file of
 * pseudo-random bytes, and a day of 1 Hz fixes as GPX.
 *
 * usage: gen card DIR COUNT KB      drone photos DJI_0001.JPG ... of about KB kB
 *        gen nogps DIR COUNT KB     photos without GPS spread over the day
 *        gen video FILE MB          a drone MP4 of MB MiB, its index last
 *        gen gpx FILE               86,400 fixes, one a second, over the day
 *        gen tags CSV DIR COUNT     exiftool -csv input: per-photo GPS tags for
 *                                   the COUNT nogps photos, as evcap places them
 */
#include <errno.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>

#define SYNTH_PROG "gen"
#include "../scripts/synth-exif.h"
#include "../scripts/synth-mp4.h"

/* The day: 2023-06-15T00:00:00Z, 08:00 in China. */
#define DAY0 1686787200L
#define DAY_SECONDS 86400L
#define LAT0 30.5200
#define LON0 114.3100
#define CHINA_OFFSET (8 * 3600L)

/* xorshift64*: fast, and the same seed gives the same bytes on every run,
 * so a cached data set is the one the numbers were measured on. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Where the survey vessel is at t seconds into the day: a slow loop along a
 * river bank, a few metres a second. */
static void pos_at(double t, double *lat, double *lon, double *alt)
{
	*lat = LAT0 + 0.02 * sin(t / 7200.0) + t * 1e-7;
	*lon = LON0 + 0.03 * cos(t / 5400.0);
	*alt = 25.0 + 3.0 * sin(t / 900.0);
}

/*
 * A JPEG of w x h pixels: smooth water and bank with noise on top. Noise is
 * what makes a 12-megapixel camera's files big; here it sets the size per
 * pixel, so a modest image reaches a camera-like file size quickly.
 */
static unsigned char *encode_jpeg(uint64_t seed, int w, int h, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	unsigned char *row = malloc((size_t)w * 3);
	if (!row)
		die("out of memory");
	while (c.next_scanline < c.image_height) {
		int y = (int)c.next_scanline;
		for (int x = 0; x < w; x += 8) {
			uint64_t r = rnd(&s);
			for (int k = 0; k < 8 && x + k < w; k++) {
				int n = (int)((r >> (8 * k)) & 0x7F) - 64;
				int bank = y > h / 2 + (int)(h / 12 * sin((x + k + (int)seed * 13) / 90.0));
				int base0 = bank ? 100 + y * 60 / h : 40;
				int base1 = bank ? 120 : 80 + (x + k) * 40 / w;
				int base2 = bank ? 60 : 150;
				unsigned char *p = row + 3 * (x + k);
				p[0] = (unsigned char)(base0 + n);
				p[1] = (unsigned char)(base1 + n / 2);
				p[2] = (unsigned char)(base2 + n);
			}
		}
		JSAMPROW rp = row;
		jpeg_write_scanlines(&c, &rp, 1);
	}
	free(row);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

struct photo {
	const char *make, *model, *serial;
	long utc;     /* when it was taken */
	int with_gps; /* EXIF GPS and DJI XMP */
	uint64_t seed;
	int w, h;
};

static void put_u16be(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void write_photo(const char *path, const struct photo *p)
{
	ExifMem *mem = exif_mem_new_default();
	ExifData *ed = exif_data_new_mem(mem);
	exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
	char b[64];
	double lat, lon, alt;
	pos_at((double)(p->utc - DAY0), &lat, &lon, &alt);
	ascii(ed, mem, EXIF_IFD_0, EXIF_TAG_MAKE, p->make);
	ascii(ed, mem, EXIF_IFD_0, EXIF_TAG_MODEL, p->model);
	civil(p->utc + CHINA_OFFSET, b, sizeof b, "%Y:%m:%d %H:%M:%S");
	ascii(ed, mem, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, b);
	ascii(ed, mem, EXIF_IFD_EXIF, (ExifTag)0x9011, "+08:00"); /* OffsetTimeOriginal */
	ascii(ed, mem, EXIF_IFD_EXIF, (ExifTag)0xA431, p->serial); /* BodySerialNumber */
	if (p->with_gps)
		gps_block(ed, mem, lat, lon, alt, p->utc);
	unsigned char *exif = NULL;
	unsigned int exif_len = 0;
	exif_data_save_data(ed, &exif, &exif_len);
	if (!exif || exif_len + 2 > 65535)
		die("EXIF block");
	unsigned long jlen = 0;
	unsigned char *jpg = encode_jpeg(p->seed, p->w, p->h, &jlen);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path);
	unsigned char hdr[4] = {0xFF, 0xE1, 0, 0};
	fwrite("\xFF\xD8", 1, 2, f);
	put_u16be(hdr + 2, exif_len + 2);
	fwrite(hdr, 1, 4, f);
	fwrite(exif, 1, exif_len, f);
	if (p->with_gps) {
		/* DJI writes its flight data as XMP attributes */
		char xmp[1400];
		int n = snprintf(
			xmp, sizeof xmp,
			"http://ns.adobe.com/xap/1.0/%c<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
			"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf="
			"\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
			"xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
			"drone-dji:GpsLatitude=\"%.7f\" drone-dji:GpsLongtitude=\"%.7f\" "
			"drone-dji:AbsoluteAltitude=\"%+.2f\" drone-dji:RelativeAltitude=\"+80.00\" "
			"drone-dji:GimbalYawDegree=\"%+.1f\" drone-dji:GimbalPitchDegree=\"-90.0\" "
			"drone-dji:FlightYawDegree=\"%+.1f\"/></rdf:RDF></x:xmpmeta>"
			"<?xpacket end=\"w\"?>",
			0, lat, lon, alt + 80.0, (double)(p->seed % 360) - 180.0,
			(double)(p->seed % 360) - 180.0);
		put_u16be(hdr + 2, (unsigned)n + 2);
		fwrite(hdr, 1, 4, f);
		fwrite(xmp, 1, (size_t)n, f);
	}
	fwrite(jpg + 2, 1, jlen - 2, f); /* past the encoder's own SOI */
	if (fclose(f) != 0)
		die(path);
	free(jpg);
	free(exif);
	exif_data_unref(ed);
	exif_mem_unref(mem);
}

/* Picks image dimensions (4:3) for about kb kilobytes of this generator's
 * pixels at quality 90: measured at close to 0.68 bytes a pixel. */
static void dims_for(long kb, int *w, int *h)
{
	double px = (double)kb * 1024 / 0.68;
	*w = ((int)sqrt(px * 4 / 3) + 15) / 16 * 16;
	*h = (*w * 3 / 4 + 15) / 16 * 16;
}

static int gen_card(const char *dir, int count, long kb)
{
	char sub[4096], path[4200];
	int w, h;
	dims_for(kb, &w, &h);
	snprintf(sub, sizeof sub, "%s/DCIM/100MEDIA", dir);
	mkdirs(sub);
	/* a survey flight every few seconds, from 10:00 China time */
	for (int i = 0; i < count; i++) {
		struct photo p = {"DJI", "FC6310", "0K8TG3M0010D27", DAY0 + 2 * 3600 + i * 3L, 1,
				  (uint64_t)i + 1, w, h};
		snprintf(path, sizeof path, "%s/DJI_%04d.JPG", sub, i + 1);
		write_photo(path, &p);
	}
	return 0;
}

/* The handheld camera's photo times: spread over the day's daylight hours,
 * in whole seconds as DateTimeOriginal has them. */
static long nogps_time(int i, int count)
{
	return DAY0 + 3600L + (long)i * (10L * 3600 / (count > 0 ? count : 1)) + 17;
}

static int gen_nogps(const char *dir, int count, long kb)
{
	char sub[4096], path[4200];
	int w, h;
	dims_for(kb, &w, &h);
	snprintf(sub, sizeof sub, "%s/DCIM/101CANON", dir);
	mkdirs(sub);
	for (int i = 0; i < count; i++) {
		struct photo p = {"Canon", "PowerShot G7 X Mark II", "412053001234",
				  nogps_time(i, count), 0, 100000 + (uint64_t)i, w, h};
		snprintf(path, sizeof path, "%s/IMG_%04d.JPG", sub, i + 1);
		write_photo(path, &p);
	}
	return 0;
}

/* A drone's video: the media data first, its index (moov) at the end,
 * as DJI cameras write them, so ingest has to find the index past MB MiB. */
static int gen_video(const char *path, long mb)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path);
	struct mp4_spec v = {.mvhd_time = DAY0 + 36000, .make = "DJI", /* 10:00 local */
			     .mdat_bytes = (unsigned long long)mb << 20, .seed = 0x5EED};
	synth_mp4(f, &v);
	if (fclose(f) != 0)
		die(path);
	return 0;
}

static int gen_gpx(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<gpx version=\"1.1\" creator=\"evcap bench\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
	      "<trk><name>survey day</name><trkseg>\n",
	      f);
	for (long s = 0; s < DAY_SECONDS; s++) {
		double lat, lon, alt;
		char t[32];
		pos_at((double)s, &lat, &lon, &alt);
		civil(DAY0 + s, t, sizeof t, "%Y-%m-%dT%H:%M:%SZ");
		fprintf(f,
			"<trkpt lat=\"%.7f\" lon=\"%.7f\"><ele>%.1f</ele><time>%s</time>"
			"<fix>3d</fix><sat>9</sat><hdop>0.9</hdop></trkpt>\n",
			lat, lon, alt, t);
	}
	fputs("</trkseg></trk>\n</gpx>\n", f);
	if (fclose(f) != 0)
		die(path);
	return 0;
}

/* The tags exiftool writes into its working copies, one row a photo: the
 * track's position at the photo's time and the case number, so both tools
 * write the same fields. */
static int gen_tags(const char *csv, const char *dir, int count)
{
	FILE *f = fopen(csv, "w");
	if (!f)
		die(csv);
	fputs("SourceFile,GPSLatitude,GPSLatitudeRef,GPSLongitude,GPSLongitudeRef,GPSAltitude,"
	      "GPSAltitudeRef,GPSDateStamp,GPSTimeStamp,GPSMapDatum,XPKeywords,XPComment,"
	      "UserComment\n",
	      f);
	for (int i = 0; i < count; i++) {
		long t = nogps_time(i, count);
		double lat, lon, alt;
		char d[16], hms[16];
		pos_at((double)(t - DAY0), &lat, &lon, &alt);
		civil(t, d, sizeof d, "%Y:%m:%d");
		civil(t, hms, sizeof hms, "%H:%M:%S");
		fprintf(f,
			"%s/IMG_%04d.JPG,%.7f,N,%.7f,E,%.1f,0,%s,%s,WGS-84,BENCH-2023-15,BENCH-2023-15,"
			"BENCH-2023-15\n",
			dir, i + 1, lat, lon, alt, d, hms);
	}
	if (fclose(f) != 0)
		die(csv);
	return 0;
}

static void usage(void)
{
	fputs("usage: gen card|nogps DIR COUNT KB | gen video FILE MB | gen gpx FILE |"
	      " gen tags CSV DIR COUNT\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *what = argv[1];
	if (strcmp(what, "card") == 0 && argc == 5)
		return gen_card(argv[2], atoi(argv[3]), atol(argv[4]));
	if (strcmp(what, "nogps") == 0 && argc == 5)
		return gen_nogps(argv[2], atoi(argv[3]), atol(argv[4]));
	if (strcmp(what, "video") == 0 && argc == 4)
		return gen_video(argv[2], atol(argv[3]));
	if (strcmp(what, "gpx") == 0 && argc == 3)
		return gen_gpx(argv[2]);
	if (strcmp(what, "tags") == 0 && argc == 5)
		return gen_tags(argv[2], argv[3], atoi(argv[4]));
	usage();
	return 2;
}
