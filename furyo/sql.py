"""DDL of file (2)'s partitioned version table (used by migrations only)."""

from jukinet.partitions import SENTINEL_YEAR, create_partition_sql, guard_triggers_sql

VERSION_TABLE = "furyo_version"

CREATE_VERSION_TABLE = f"""
CREATE SEQUENCE {VERSION_TABLE}_id_seq;
CREATE TABLE {VERSION_TABLE} (
  id bigint NOT NULL DEFAULT nextval('{VERSION_TABLE}_id_seq'),
  expiry_year smallint NOT NULL DEFAULT {SENTINEL_YEAR},
  person_id bigint NOT NULL,  -- no FK: person rows are deleted by the purge after their partitions
  resident_code varchar(11) NOT NULL CHECK (resident_code ~ '^[0-9]{{11}}$'),
  name varchar(100) NOT NULL,
  name_gaiji_count smallint NOT NULL CHECK (name_gaiji_count >= 0),
  name_kana varchar(100) NOT NULL,
  birth_date date NOT NULL,
  sex smallint NOT NULL CHECK (sex IN (1, 2)),
  address_municipality_code varchar(6),
  address varchar(200) NOT NULL,
  address_gaiji_count smallint NOT NULL CHECK (address_gaiji_count >= 0),
  last_address varchar(200),
  last_address_gaiji_count smallint,
  change_date date NOT NULL,
  former_resident_code varchar(11),
  furyo_municipality_code varchar(6) NOT NULL,
  status smallint NOT NULL CHECK (status IN (1, 2, 9)),
  gaiji_flag boolean NOT NULL,
  gaiji_pattern varchar(20) NOT NULL,
  notice_kind varchar(2) NOT NULL,
  is_current boolean NOT NULL DEFAULT true,
  removed boolean NOT NULL DEFAULT false,
  update_sequence integer NOT NULL CHECK (update_sequence >= 1),
  deleted boolean NOT NULL DEFAULT false,
  received_on date NOT NULL,
  recorded_at timestamptz NOT NULL,
  municipality_code varchar(6) NOT NULL,
  operator_id varchar(32) NOT NULL,
  terminal_id varchar(32) NOT NULL,
  source_notice_id bigint,
  revision integer NOT NULL DEFAULT 0,
  retention_flag smallint NOT NULL DEFAULT 0 CHECK (retention_flag IN (0, 1)),
  retention_start date,
  seion_kana varchar(200) NOT NULL,
  name_key varchar(200) NOT NULL,
  address_key varchar(400) NOT NULL,
  PRIMARY KEY (id, expiry_year),
  CONSTRAINT furyo_version_expiry_matches_start CHECK (
    (retention_start IS NULL AND expiry_year = {SENTINEL_YEAR})
    OR (retention_start IS NOT NULL AND expiry_year = extract(year FROM retention_start)::int + 150))
) PARTITION BY RANGE (expiry_year);
ALTER SEQUENCE {VERSION_TABLE}_id_seq OWNED BY {VERSION_TABLE}.id;
CREATE INDEX furyo_version_person_idx ON {VERSION_TABLE} (person_id, update_sequence);
CREATE INDEX furyo_version_source_notice_idx ON {VERSION_TABLE} (source_notice_id)
  WHERE source_notice_id IS NOT NULL;
CREATE INDEX furyo_version_seion_idx ON {VERSION_TABLE} (seion_kana text_pattern_ops, birth_date) WHERE is_current;
CREATE INDEX furyo_version_name_key_idx ON {VERSION_TABLE} (name_key text_pattern_ops, birth_date) WHERE is_current;
CREATE INDEX furyo_version_address_key_idx ON {VERSION_TABLE} (address_key text_pattern_ops) WHERE is_current;
{guard_triggers_sql(VERSION_TABLE)}
{create_partition_sql(VERSION_TABLE, SENTINEL_YEAR)}
"""

DROP_VERSION_TABLE = f"DROP TABLE {VERSION_TABLE};"
