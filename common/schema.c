/*
 * evcap's database schema. Evidence rows are never updated in place except
 * for derived, re-computable fields (resolved time and place); everything
 * a person did is also in the append-only, hash-chained custody table.
 */
#include "schema.h"

static const char schema_v1[] =
	/* settings: device id, case in use, chain head */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"

	"CREATE TABLE cases ("
	" id INTEGER PRIMARY KEY,"
	" number TEXT NOT NULL UNIQUE,"          /* as users write it, UTF-8 */
	" key TEXT NOT NULL UNIQUE,"             /* stable ASCII key for bundle paths */
	" title TEXT,"
	" status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),"
	" opened_at TEXT NOT NULL,"
	" closed_at TEXT,"
	" time_offset TEXT,"                     /* declared camera offset, +HH:MM */
	" water_body TEXT CHECK (water_body IS NULL OR water_body IN ('river','lake')),"
	" operators TEXT,"                       /* JSON array */
	" witness TEXT, no_witness_reason TEXT,"
	" medium_kept INTEGER, medium_note TEXT,"
	" recommendation TEXT, reply_date TEXT,"
	" origin TEXT NOT NULL DEFAULT 'local'"  /* local | pulled */
	");"

	"CREATE TABLE sites ("
	" id INTEGER PRIMARY KEY,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" name TEXT NOT NULL,"
	" lat REAL NOT NULL, lon REAL NOT NULL,"
	" radius_m REAL NOT NULL DEFAULT 50,"
	" water_body TEXT,"
	" created_at TEXT NOT NULL,"
	" UNIQUE (case_id, name));"

	"CREATE TABLE items ("
	" id INTEGER PRIMARY KEY,"
	" sha256 TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL,"
	" kind TEXT NOT NULL, format TEXT,"
	" original_name TEXT NOT NULL, original_path TEXT NOT NULL,"
	" source_device TEXT,"                   /* host or daemon that read it */
	" medium_uuid TEXT, medium_label TEXT,"
	" case_id INTEGER REFERENCES cases(id),"
	" site_id INTEGER REFERENCES sites(id),"
	" operators TEXT,"                       /* JSON array */
	" camera_time TEXT, subsec REAL,"        /* camera clock as written */
	" offset_raw TEXT,"                      /* OffsetTimeOriginal as written */
	" gps_time TEXT,"                        /* the file's own GPS time, UTC */
	" xmp_time TEXT,"
	" captured_at TEXT,"                     /* resolved, UTC ISO 8601 Z */
	" tz_offset TEXT, time_source TEXT,"
	" declared_offset TEXT,"                 /* --time-offset at ingest */
	" lat REAL, lon REAL, alt REAL,"
	" location_source TEXT, location_error_m REAL,"
	" exif_lat REAL, exif_lon REAL, exif_alt REAL,"
	" xmp_lat REAL, xmp_lon REAL, xmp_alt REAL, rel_alt REAL,"
	" gps_status TEXT, gps_dop REAL, gps_datum TEXT,"
	" gimbal_yaw REAL, gimbal_pitch REAL, gimbal_roll REAL,"
	" flight_yaw REAL, flight_pitch REAL, flight_roll REAL,"
	" make TEXT, model TEXT, serial TEXT,"
	" width INTEGER, height INTEGER, orientation INTEGER,"
	" metadata_error TEXT, metadata_note TEXT,"
	" ingested_at TEXT NOT NULL,"
	" origin TEXT NOT NULL DEFAULT 'local',"  /* local | pulled */
	" bundle_id TEXT);"                      /* the bundle a pulled item came in */
	"CREATE INDEX items_case ON items(case_id);"
	"CREATE INDEX items_camera ON items(make, model, serial);"

	/* where each item was seen: a second card holding the same bytes adds a
	 * sighting, not an item */
	"CREATE TABLE sightings ("
	" id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES items(id),"
	" path TEXT NOT NULL, medium_uuid TEXT, medium_label TEXT,"
	" seen_at TEXT NOT NULL,"
	" UNIQUE (item_id, path, medium_uuid));"

	"CREATE TABLE notes ("
	" id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES items(id),"
	" text TEXT NOT NULL, author TEXT, created_at TEXT NOT NULL,"
	" origin TEXT NOT NULL DEFAULT 'local');"

	/* tagged working copies and other outputs made from an original */
	"CREATE TABLE derivatives ("
	" id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES items(id),"
	" sha256 TEXT NOT NULL, kind TEXT NOT NULL, path TEXT,"
	" created_at TEXT NOT NULL);"

	"CREATE TABLE fixes ("
	" id INTEGER PRIMARY KEY,"
	" t REAL NOT NULL,"                      /* UTC seconds */
	" time TEXT NOT NULL,"                   /* the same, ISO 8601 Z */
	" lat REAL NOT NULL, lon REAL NOT NULL, alt REAL,"
	" mode INTEGER NOT NULL, eph REAL, sats INTEGER,"
	" source TEXT NOT NULL,"                 /* gpsd:HOST:PORT, file:NAME */
	" UNIQUE (t, source));"
	"CREATE INDEX fixes_t ON fixes(t);"

	"CREATE TABLE readings ("
	" id INTEGER PRIMARY KEY,"
	" t REAL, time TEXT,"
	" parameter TEXT, value REAL, unit TEXT,"
	" sample_id TEXT, instrument TEXT,"
	" raw TEXT NOT NULL, raw_sha256 TEXT NOT NULL,"
	" source TEXT,"                          /* file sha256 or device */
	" line_no INTEGER,"
	" case_id INTEGER REFERENCES cases(id),"
	" site_id INTEGER REFERENCES sites(id),"
	" operators TEXT,"
	" lat REAL, lon REAL, location_source TEXT, location_error_m REAL,"
	" class TEXT, error TEXT,"
	" created_at TEXT NOT NULL,"
	" origin TEXT NOT NULL DEFAULT 'local',"
	" UNIQUE (raw_sha256, parameter, source, line_no));"

	/* the custody log: append-only and hash-chained; `event` is the exact
	 * canonical JSON hashed, the other columns are copies for queries */
	"CREATE TABLE custody ("
	" seq INTEGER PRIMARY KEY,"
	" at TEXT NOT NULL, actor TEXT, action TEXT NOT NULL,"
	" case_number TEXT, item_sha256 TEXT,"
	" device_id TEXT NOT NULL,"
	" event TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE);"
	"CREATE INDEX custody_case ON custody(case_number);"
	"CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody"
	" BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;"
	"CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody"
	" BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;"

	/* custody events received from other devices through pull */
	"CREATE TABLE foreign_custody ("
	" id INTEGER PRIMARY KEY,"
	" device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	" event TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,"
	" bundle_id TEXT,"
	" UNIQUE (device_id, seq));"

	/* sync: one row per (target, blob or bundle) */
	"CREATE TABLE sync_state ("
	" id INTEGER PRIMARY KEY,"
	" target TEXT NOT NULL,"
	" object TEXT NOT NULL,"                 /* the key on the target */
	" sha256 TEXT,"
	" state TEXT NOT NULL DEFAULT 'queued',"  /* queued|uploading|done|failed */
	" upload_id TEXT, parts_done TEXT,"      /* JSON [[n, etag], ...] */
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT, next_try REAL,"
	" updated_at TEXT,"
	" UNIQUE (target, object));"

	"CREATE TABLE bundles ("
	" id INTEGER PRIMARY KEY,"
	" bundle_id TEXT NOT NULL UNIQUE,"
	" case_id INTEGER REFERENCES cases(id),"
	" target TEXT,"
	" direction TEXT NOT NULL,"              /* out | in */
	" manifest_sha256 TEXT, device_id TEXT,"
	" first_seq INTEGER, last_seq INTEGER,"
	" created_at TEXT NOT NULL, committed_at TEXT);"

	/* device public keys the office trusts (minisign format) */
	"CREATE TABLE trusted_keys ("
	" key_id TEXT PRIMARY KEY,"
	" public_key TEXT NOT NULL,"
	" comment TEXT, added_at TEXT NOT NULL);";

/* evcapd: which path (on which medium) was already recorded with which
 * size and mtime, so a restart or a rescan does not hash a card again.
 * A cache only: losing a row costs one re-hash, never a duplicate item. */
static const char schema_v40[] =
	"CREATE TABLE capture_seen ("
	" path TEXT NOT NULL,"                   /* as displayed (ingest_display_path) */
	" medium_uuid TEXT NOT NULL DEFAULT '',"
	" size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, seen_at TEXT NOT NULL,"
	" PRIMARY KEY (path, medium_uuid));";

/* Indexes for the lookups made once per item, per note or per site, so
 * that none of them reads a whole table: verify's ingest event of each
 * item, export's check for an existing copy, an item's notes (and pull's
 * check for a note already held), the items and readings of a site, and a
 * case's readings. Each of those was a full scan, which made verify, a
 * report or a pull quadratic in the size of an office store
 * (docs/performance.md, "Large stores"). */
static const char schema_v41[] =
	"CREATE INDEX custody_item ON custody(item_sha256);"
	"CREATE INDEX derivatives_item ON derivatives(item_id);"
	"CREATE INDEX notes_item ON notes(item_id);"
	"CREATE INDEX items_site ON items(site_id);"
	"CREATE INDEX readings_case ON readings(case_id, t);"
	"CREATE INDEX readings_site ON readings(site_id, t);";

/* Where a phone or camera pointed (EXIF GPSImgDirection, degrees from
 * north) and which north ("T" true, "M" magnetic): a re-inspection's
 * heading for photos that carry no drone gimbal yaw. */
static const char schema_v42[] =
	"ALTER TABLE items ADD COLUMN img_direction REAL;"
	"ALTER TABLE items ADD COLUMN img_direction_ref TEXT;";

/*
 * Each trusted key is tied to the one device it signs for (docs/sync.md,
 * "Keys and devices"): device_id is the device, bound_at and bound_how say
 * when and how it was tied (a key file naming the device, --device, the
 * first bundle accepted, or this migration); replaced_by and replaced_at
 * mark a key the office replaced with a device's new key. At most one key
 * in use per device.
 *
 * Keys trusted before this version are tied here from what the office
 * already holds: the device whose custody events a key's bundles brought
 * (foreign_custody) and the key that signed each of those bundles (the
 * office's own pull events). A key is tied only when it signed for one
 * device alone and that device was signed for by it alone; any other key
 * stays untied, `evcap key list` says so, and its next accepted bundle or
 * `evcap key trust FILE --device ID` ties it.
 */
static const char schema_v43[] =
	"ALTER TABLE trusted_keys ADD COLUMN device_id TEXT;"
	"ALTER TABLE trusted_keys ADD COLUMN bound_at TEXT;"
	"ALTER TABLE trusted_keys ADD COLUMN bound_how TEXT;"
	"ALTER TABLE trusted_keys ADD COLUMN replaced_by TEXT;"
	"ALTER TABLE trusted_keys ADD COLUMN replaced_at TEXT;"
	"CREATE TEMP TABLE key_device AS"
	" SELECT DISTINCT f.device_id AS dev, json_extract(c.event, '$.detail.key_id') AS kid"
	" FROM (SELECT DISTINCT device_id, bundle_id FROM foreign_custody) f"
	" JOIN custody c ON c.action = 'pull'"
	"  AND json_extract(c.event, '$.detail.bundle_id') = f.bundle_id"
	"  AND json_extract(c.event, '$.detail.device_id') = f.device_id;"
	"UPDATE trusted_keys SET"
	" device_id = (SELECT dev FROM key_device WHERE kid = trusted_keys.key_id),"
	" bound_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),"
	" bound_how = 'schema 43: the only device its pulled bundles named'"
	" WHERE key_id IN (SELECT k.kid FROM key_device k"
	"  WHERE (SELECT count(*) FROM key_device x WHERE x.kid = k.kid) = 1"
	"  AND (SELECT count(*) FROM key_device x WHERE x.dev = k.dev) = 1);"
	"DROP TABLE key_device;"
	"CREATE UNIQUE INDEX trusted_keys_device ON trusted_keys(device_id)"
	" WHERE device_id IS NOT NULL AND replaced_by IS NULL;"
	/* the case object of each pulled bundle, as its manifest gave it (compact
	 * JSON), so that the office's case can follow the newest one whatever
	 * the order bundles arrive in (docs/sync.md, "The case's fields");
	 * bundles pulled before this version have none */
	"ALTER TABLE bundles ADD COLUMN case_fields TEXT;"
	"CREATE INDEX bundles_case ON bundles(case_id, device_id);"
	/* the fields of a pulled case the office set itself (JSON array of
	 * column names: the recommendation and the reply date are the
	 * procuratorate's acts, recorded where they are made); bundles no
	 * longer change those */
	"ALTER TABLE cases ADD COLUMN office_fields TEXT;";

/* The fields of an item that a step after its ingest may change, and
 * the tests of whether an update changed each group of them. */
#define ITEM_REV_COLS \
	"captured_at, tz_offset, time_source, declared_offset, lat, lon, alt," \
	" location_source, location_error_m, site_id"
#define ITEM_TIME_CHANGED \
	"(OLD.captured_at IS NOT NEW.captured_at OR OLD.tz_offset IS NOT NEW.tz_offset" \
	" OR OLD.time_source IS NOT NEW.time_source" \
	" OR OLD.declared_offset IS NOT NEW.declared_offset)"
#define ITEM_PLACE_CHANGED \
	"(OLD.lat IS NOT NEW.lat OR OLD.lon IS NOT NEW.lon OR OLD.alt IS NOT NEW.alt" \
	" OR OLD.location_source IS NOT NEW.location_source" \
	" OR OLD.location_error_m IS NOT NEW.location_error_m)"
#define ITEM_SITE_CHANGED "(OLD.site_id IS NOT NEW.site_id)"

/*
 * An item changed after it was synced goes to each target again
 * (docs/sync.md, "Items changed after a sync"). rev is the item's
 * revision in this store: a trigger gives it the store's next number
 * whenever one of the fields a later step can change does change (its
 * time, its place, its site), and sync_state.rev is the revision a
 * target last received. Items were never marked before this version, so
 * each of this store's own items goes once more to every target (its
 * fields only, not its bytes): an office then has what the field holds.
 *
 * On an office, src_rev is the field device's revision a pulled item's
 * fields come from, and office_fields says which of those fields the
 * office changed itself (1 place, 2 time, 4 site): a later revision from
 * the field leaves them as the office set them. The second trigger sets
 * them on any change that is not a revision being applied (a pull sets
 * src_rev in the same statement).
 *
 * Readings the same way, for the one field of theirs that changes later,
 * the site. They are sent by marks, not one by one: a reading whose
 * revision is above the target's mark goes again. After the upgrade only
 * the readings that have a site go again (their ids make distinct
 * revisions below any later one): a reading without one has nothing an
 * office may lack.
 */
static const char schema_v44[] =
	"ALTER TABLE items ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE items ADD COLUMN src_rev INTEGER;"
	"ALTER TABLE items ADD COLUMN office_fields INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_state ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
	"UPDATE items SET rev = 1 WHERE origin = 'local';"
	"CREATE INDEX items_rev ON items(rev);"
	"CREATE TRIGGER items_rev AFTER UPDATE OF " ITEM_REV_COLS " ON items"
	" WHEN " ITEM_TIME_CHANGED " OR " ITEM_PLACE_CHANGED " OR " ITEM_SITE_CHANGED
	" BEGIN UPDATE items SET rev = (SELECT max(rev) FROM items) + 1 WHERE id = NEW.id; END;"
	"CREATE TRIGGER items_office_fields AFTER UPDATE OF " ITEM_REV_COLS " ON items"
	" WHEN NEW.origin = 'pulled' AND NEW.src_rev IS OLD.src_rev"
	" BEGIN UPDATE items SET office_fields = office_fields"
	"  | (CASE WHEN " ITEM_PLACE_CHANGED " THEN 1 ELSE 0 END)"
	"  | (CASE WHEN " ITEM_TIME_CHANGED " THEN 2 ELSE 0 END)"
	"  | (CASE WHEN " ITEM_SITE_CHANGED " THEN 4 ELSE 0 END)"
	"  WHERE id = NEW.id; END;"
	"ALTER TABLE readings ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE readings ADD COLUMN src_rev INTEGER;"
	"ALTER TABLE readings ADD COLUMN office_fields INTEGER NOT NULL DEFAULT 0;"
	"UPDATE readings SET rev = id WHERE origin = 'local' AND site_id IS NOT NULL;"
	"CREATE INDEX readings_rev ON readings(rev);"
	"CREATE TRIGGER readings_rev AFTER UPDATE OF site_id ON readings"
	" WHEN " ITEM_SITE_CHANGED
	" BEGIN UPDATE readings SET rev = (SELECT max(rev) FROM readings) + 1"
	"  WHERE id = NEW.id; END;"
	"CREATE TRIGGER readings_office_fields AFTER UPDATE OF site_id ON readings"
	" WHEN NEW.origin = 'pulled' AND NEW.src_rev IS OLD.src_rev AND " ITEM_SITE_CHANGED
	" BEGIN UPDATE readings SET office_fields = office_fields | 4 WHERE id = NEW.id; END;";

/*
 * Each bundle names the one its device sent before it for the same case
 * to the same target (previous; NULL for the first, and for bundles made
 * before this version), so that an office can tell when one between two
 * it holds is missing from the target: deleted, or moved away
 * (docs/sync.md, "A bundle missing from the target"). previous_missing
 * is when this store said so, once, of a pulled bundle's previous one.
 */
static const char schema_v45[] =
	"ALTER TABLE bundles ADD COLUMN previous TEXT;"
	"ALTER TABLE bundles ADD COLUMN previous_missing TEXT;"
	"CREATE INDEX bundles_previous ON bundles(previous) WHERE previous IS NOT NULL;"
	/* the device a pulled reading first came from: only its later
	 * revisions change the reading, as for an item (NULL for readings
	 * pulled before this version, which any device's revision may move) */
	"ALTER TABLE readings ADD COLUMN src_device TEXT;";

/* evcapd: the inode change time a path was recorded with, so that a file
 * of the same name, size and mtime put there since (another card's folder
 * copied in with cp -p) is read, not taken for the one recorded. NULL in
 * rows of before: each such file is read once more, and its row filled. */
static const char schema_v46[] = "ALTER TABLE capture_seen ADD COLUMN ctime_ns INTEGER;";

/*
 * A path seen again on no card (medium_uuid NULL) is one sighting, not
 * one more at each ingest: sightings' UNIQUE (item_id, path, medium_uuid)
 * never held there, as SQLite's UNIQUE takes NULLs for distinct, so every
 * re-ingest of a folder added a row to each of its items. The copies so
 * added are dropped, the first sighting of each kept, and an index that
 * reads no card as '' makes ingest's INSERT OR IGNORE skip them.
 */
static const char schema_v47[] =
	"DELETE FROM sightings WHERE id NOT IN (SELECT min(id) FROM sightings"
	" GROUP BY item_id, path, ifnull(medium_uuid, ''));"
	"CREATE UNIQUE INDEX sightings_once ON sightings(item_id, path, ifnull(medium_uuid, ''));";

/* The fields of a reading that a step after it was read may change (its
 * place, its class, its site), and the tests of whether an update changed
 * each group of them; a reading has no altitude. */
#define READING_REV_COLS "lat, lon, location_source, location_error_m, class, site_id"
#define READING_PLACE_CHANGED \
	"(OLD.lat IS NOT NEW.lat OR OLD.lon IS NOT NEW.lon" \
	" OR OLD.location_source IS NOT NEW.location_source" \
	" OR OLD.location_error_m IS NOT NEW.location_error_m)"
#define READING_CLASS_CHANGED "(OLD.class IS NOT NEW.class)"

/*
 * A reading's place and class are part of its revision, as its site is
 * (schema_v44): a reading placed from a track after it was synced (evcap
 * geotag, a track import) or classed again with a water body given since
 * (case set --water-body) goes to each target again, and an office takes
 * the change (docs/sync.md, "Items changed after a sync"). On an office,
 * office_fields gains the groups of a reading the office changed itself:
 * 1 place and 8 class, beside 4 site; a later revision from the field
 * leaves them as the office set them.
 *
 * Before this version such a change never went: the readings this store
 * placed or classed again, as its custody log names them ("geotag" and
 * "reclass" events), go to every target once more, each with a revision
 * of its own above any the targets have (an office that already has the
 * same values changes nothing).
 */
static const char schema_v48[] =
	"DROP TRIGGER readings_rev;"
	"DROP TRIGGER readings_office_fields;"
	"CREATE TRIGGER readings_rev AFTER UPDATE OF " READING_REV_COLS " ON readings"
	" WHEN " READING_PLACE_CHANGED " OR " READING_CLASS_CHANGED " OR " ITEM_SITE_CHANGED
	" BEGIN UPDATE readings SET rev = (SELECT max(rev) FROM readings) + 1"
	"  WHERE id = NEW.id; END;"
	"CREATE TRIGGER readings_office_fields AFTER UPDATE OF " READING_REV_COLS " ON readings"
	" WHEN NEW.origin = 'pulled' AND NEW.src_rev IS OLD.src_rev"
	" BEGIN UPDATE readings SET office_fields = office_fields"
	"  | (CASE WHEN " READING_PLACE_CHANGED " THEN 1 ELSE 0 END)"
	"  | (CASE WHEN " ITEM_SITE_CHANGED " THEN 4 ELSE 0 END)"
	"  | (CASE WHEN " READING_CLASS_CHANGED " THEN 8 ELSE 0 END)"
	"  WHERE id = NEW.id; END;"
	"UPDATE readings SET rev = (SELECT max(rev) FROM readings) + id"
	" WHERE origin = 'local' AND id IN ("
	"  SELECT json_extract(r.value, '$.id') FROM custody c,"
	"   json_each(c.event, '$.detail.readings') r WHERE c.action = 'geotag'"
	"  UNION SELECT json_extract(r.value, '$.reading') FROM custody c,"
	"   json_each(c.event, '$.detail.readings') r WHERE c.action = 'reclass');";

const struct migration schema_migrations[] = {
	{1, schema_v1},
	{40, schema_v40},
	{41, schema_v41},
	{42, schema_v42},
	{43, schema_v43},
	{44, schema_v44},
	{45, schema_v45},
	{46, schema_v46},
	{47, schema_v47},
	{48, schema_v48},
};
const size_t schema_migration_count = sizeof schema_migrations / sizeof schema_migrations[0];
