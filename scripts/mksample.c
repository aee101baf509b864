/*
 * mksample: writes the demo's sample SD card and GPS log. The card holds
 * drone photos with EXIF GPS and DJI XMP, handheld-camera photos with no
 * GPS and a clock 7 s fast (one of them GPS-stamped, so evcap can learn
 * the error), a drone video (its index last, its clock local) with the
 * SRT the drone writes beside it, a damaged JPEG and a duplicate; the
 * NMEA log is a 1 Hz track along the same flight for gpsfake to replay.
 *
 * usage: mksample CARD_DIR NMEA_FILE
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

#define SYNTH_PROG "mksample"
#include "synth-exif.h"
#include "synth-mp4.h"

#define T0 1686794400L /* 2023-06-15T02:00:00Z, 10:00 in China */
#define TRACK_SECONDS 1800
#define LAT0 47.3400
#define LON0 123.9000

/* Where the drone (and the laptop's track) is at t seconds after T0. */
static void pos_at(double t, double *lat, double *lon, double *alt)
{
	*lat = LAT0 + t * 0.000020;
	*lon = LON0 + t * 0.000030 + 0.0005 * sin(t / 120.0);
	*alt = 150.0 + 10.0 * sin(t / 300.0);
}

/* A small JPEG whose pixels depend on seed, so each photo has its own bytes. */
static unsigned char *encode_jpeg(int seed, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	int w = 320, h = 240;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 85, TRUE);
	jpeg_start_compress(&c, TRUE);
	unsigned char *row = malloc((size_t)w * 3);
	while (c.next_scanline < c.image_height) {
		int y = (int)c.next_scanline;
		for (int x = 0; x < w; x++) {
			/* water, a bank, and a building whose place depends on the seed */
			int bank = y > h / 2 + (int)(20 * sin((x + seed * 7) / 30.0));
			int house = x > 40 + seed * 9 % 200 && x < 90 + seed * 9 % 200 && y > 60 && y < 110;
			row[3 * x] = (unsigned char)(house ? 180 : bank ? 90 + y / 4 : 40);
			row[3 * x + 1] = (unsigned char)(house ? 60 : bank ? 120 : 80 + x / 6);
			row[3 * x + 2] = (unsigned char)(house ? 50 : bank ? 60 : 140 + (x * y + seed) % 40);
		}
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	free(row);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return out;
}

struct photo {
	const char *make, *model, *serial;
	long camera_clock; /* what the camera's clock read, as local wall time seconds */
	int with_gps;
	long gps_t;        /* UTC of the fix */
	int with_xmp;
	int with_offset;
	int seed;
};

static void write_photo(const char *path, const struct photo *p)
{
	ExifMem *mem = exif_mem_new_default();
	ExifData *ed = exif_data_new_mem(mem);
	exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
	char buf[32];
	double lat, lon, alt;
	pos_at((double)(p->gps_t - T0), &lat, &lon, &alt);
	ascii(ed, mem, EXIF_IFD_0, EXIF_TAG_MAKE, p->make);
	ascii(ed, mem, EXIF_IFD_0, EXIF_TAG_MODEL, p->model);
	civil(p->camera_clock, buf, sizeof buf, "%Y:%m:%d %H:%M:%S");
	ascii(ed, mem, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, buf);
	ascii(ed, mem, EXIF_IFD_EXIF, (ExifTag)0xA431, p->serial); /* BodySerialNumber */
	if (p->with_offset)
		ascii(ed, mem, EXIF_IFD_EXIF, (ExifTag)0x9011, "+08:00"); /* OffsetTimeOriginal */
	if (p->with_gps)
		gps_block(ed, mem, lat, lon, alt, p->gps_t);
	unsigned char *exif = NULL;
	unsigned int exif_len = 0;
	exif_data_save_data(ed, &exif, &exif_len);
	unsigned long jlen;
	unsigned char *jpg = encode_jpeg(p->seed, &jlen);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path);
	fwrite("\xFF\xD8", 1, 2, f);
	unsigned seglen = exif_len + 2;
	unsigned char hdr[4] = {0xFF, 0xE1, (unsigned char)(seglen >> 8), (unsigned char)seglen};
	fwrite(hdr, 1, 4, f);
	fwrite(exif, 1, exif_len, f);
	if (p->with_xmp) {
		char xmp[1024];
		int n = snprintf(xmp, sizeof xmp,
				 "http://ns.adobe.com/xap/1.0/%c<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
				 "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf="
				 "\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
				 "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" "
				 "drone-dji:GpsLatitude=\"%.7f\" drone-dji:GpsLongtitude=\"%.7f\" "
				 "drone-dji:AbsoluteAltitude=\"%+.2f\" drone-dji:RelativeAltitude=\"%+.2f\" "
				 "drone-dji:GimbalYawDegree=\"%+.1f\" drone-dji:GimbalPitchDegree=\"-90.0\" "
				 "drone-dji:FlightYawDegree=\"%+.1f\"/></rdf:RDF></x:xmpmeta>"
				 "<?xpacket end=\"w\"?>",
				 0, lat, lon, alt, alt - 140.0, 30.0 + p->seed, 30.0 + p->seed);
		unsigned xl = (unsigned)n + 2;
		unsigned char xh[4] = {0xFF, 0xE1, (unsigned char)(xl >> 8), (unsigned char)xl};
		fwrite(xh, 1, 4, f);
		fwrite(xmp, 1, (size_t)n, f);
	}
	fwrite(jpg + 2, 1, jlen - 2, f); /* the encoder's own SOI is already written */
	if (fclose(f) != 0)
		die(path);
	free(jpg);
	free(exif);
	exif_data_unref(ed);
	exif_mem_unref(mem);
}

static void nmea_line(FILE *f, const char *body)
{
	unsigned char ck = 0;
	for (const char *p = body; *p; p++)
		ck ^= (unsigned char)*p;
	fprintf(f, "$%s*%02X\r\n", body, ck);
}

static void write_nmea(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	for (long s = 0; s <= TRACK_SECONDS; s++) {
		double lat, lon, alt;
		pos_at((double)s, &lat, &lon, &alt);
		char hms[16], date[16], body[160];
		civil(T0 + s, hms, sizeof hms, "%H%M%S");
		civil(T0 + s, date, sizeof date, "%d%m%y");
		double la = fabs(lat), lo = fabs(lon);
		double lam = (la - floor(la)) * 60, lom = (lo - floor(lo)) * 60;
		snprintf(body, sizeof body, "GPRMC,%s.00,A,%02d%08.5f,N,%03d%08.5f,E,9.7,56.3,%s,,,A", hms,
			 (int)floor(la), lam, (int)floor(lo), lom, date);
		nmea_line(f, body);
		snprintf(body, sizeof body, "GPGGA,%s.00,%02d%08.5f,N,%03d%08.5f,E,1,09,0.9,%.1f,M,-8.0,M,,",
			 hms, (int)floor(la), lam, (int)floor(lo), lom, alt - 140.0);
		nmea_line(f, body);
	}
	if (fclose(f) != 0)
		die(path);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mksample CARD_DIR NMEA_FILE\n");
		return 2;
	}
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/DCIM/100MEDIA", argv[1]);
	mkdirs(dir);
	/* 12 drone photos, a minute apart, GPS and XMP, clock in China time */
	for (int i = 0; i < 12; i++) {
		long t = T0 + 120 + i * 60;
		struct photo p = {"DJI", "FC3411", "3ESDK8X00A1234", t + 8 * 3600, 1, t, 1, 1, i};
		snprintf(path, sizeof path, "%s/DJI_%04d.JPG", dir, i + 1);
		write_photo(path, &p);
	}
	/* a duplicate the operator copied by hand */
	snprintf(path, sizeof path, "%s/DJI_0001.JPG", dir);
	char dup[4200];
	snprintf(dup, sizeof dup, "%s/DCIM/DJI_0001-copy.JPG", argv[1]);
	FILE *in = fopen(path, "rb"), *out = fopen(dup, "wb");
	if (!in || !out)
		die(dup);
	char b[65536];
	size_t n;
	while ((n = fread(b, 1, sizeof b, in)) > 0)
		fwrite(b, 1, n, out);
	fclose(in);
	if (fclose(out) != 0)
		die(dup);
	/* the assistant's handheld camera: no GPS, clock 7 s fast in China time;
	 * one photo carries a GPS time stamp, from which evcap learns the error */
	snprintf(dir, sizeof dir, "%s/DCIM/101CANON", argv[1]);
	mkdirs(dir);
	for (int i = 0; i < 4; i++) {
		long t = T0 + 900 + i * 90;
		struct photo p = {"Canon", "PowerShot G7 X", "412053001234", t + 8 * 3600 + 7, i == 0,
				  t, 0, 0, 40 + i};
		snprintf(path, sizeof path, "%s/IMG_%04d.JPG", dir, 2001 + i);
		write_photo(path, &p);
	}
	/* a drone video, its index after the media data and its creation
	 * time in China time, as DJI writes it; and a JPEG cut short by a
	 * pulled card */
	snprintf(path, sizeof path, "%s/DCIM/100MEDIA/DJI_0013.MP4", argv[1]);
	FILE *v = fopen(path, "wb");
	if (!v)
		die(path);
	struct mp4_spec vs = {.mvhd_time = T0 + 600 + 8 * 3600, .mdat_bytes = 200000, .seed = 13};
	synth_mp4(v, &vs);
	if (fclose(v) != 0)
		die(path);
	/* ... and the SRT the drone writes beside it: where it flew, a block
	 * a second, its clock in China time */
	snprintf(path, sizeof path, "%s/DCIM/100MEDIA/DJI_0013.SRT", argv[1]);
	FILE *srt = fopen(path, "wb");
	if (!srt)
		die(path);
	for (int i = 0; i < 10; i++) {
		double lat, lon, alt;
		pos_at(600 + i, &lat, &lon, &alt);
		time_t lt = (time_t)(T0 + 600 + i + 8 * 3600);
		struct tm tm;
		gmtime_r(&lt, &tm);
		fprintf(srt,
			"%d\r\n00:00:%02d,000 --> 00:00:%02d,000\r\n<font size=\"28\">SrtCnt : %d, "
			"DiffTime : 1000ms\r\n%04d-%02d-%02d %02d:%02d:%02d.000\r\n[iso : 100] "
			"[shutter : 1/500.0] [fnum : 280] [ev : 0] [latitude: %.6f] [longitude: %.6f] "
			"[rel_alt: %.3f abs_alt: %.3f] </font>\r\n\r\n",
			i + 1, i, i + 1, i + 1, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			tm.tm_min, tm.tm_sec, lat, lon, alt - 100, alt);
	}
	if (fclose(srt) != 0)
		die(path);
	snprintf(path, sizeof path, "%s/DCIM/100MEDIA/DJI_0014.JPG", argv[1]);
	unsigned long jl;
	unsigned char *j = encode_jpeg(99, &jl);
	FILE *t = fopen(path, "wb");
	if (!t)
		die(path);
	fwrite(j, 1, 300, t); /* cut off mid-header */
	if (fclose(t) != 0)
		die(path);
	free(j);
	write_nmea(argv[2]);
	return 0;
}
