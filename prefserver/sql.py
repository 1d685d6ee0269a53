"""DDL of file (1)'s partitioned version table (used by migrations only)."""

from jukinet.partitions import SENTINEL_YEAR, create_partition_sql, guard_triggers_sql

VERSION_TABLE = "prefserver_identity_version"

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
  address varchar(200) NOT NULL,
  address_gaiji_count smallint NOT NULL CHECK (address_gaiji_count >= 0),
  individual_number_ciphertext bytea NOT NULL,
  change_reason varchar(2) NOT NULL,
  change_date date NOT NULL,
  retention_flag smallint NOT NULL DEFAULT 0 CHECK (retention_flag IN (0, 1)),
  seion_kana varchar(200) NOT NULL,
  municipality_code varchar(6) NOT NULL,
  district_code varchar(20) NOT NULL,
  operator_id varchar(32) NOT NULL,
  terminal_id varchar(32) NOT NULL,
  recorded_at timestamptz NOT NULL,
  received_on date NOT NULL,
  gaiji_flag boolean NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  update_sequence integer NOT NULL CHECK (update_sequence >= 1),
  name_gaiji_revision integer NOT NULL CHECK (name_gaiji_revision >= 0),
  address_gaiji_revision integer NOT NULL CHECK (address_gaiji_revision >= 0),
  former_surname varchar(50),
  former_surname_gaiji_count smallint,
  former_surname_kana varchar(50),
  former_surname_gaiji_revision integer,
  is_current boolean NOT NULL DEFAULT true,
  removed boolean NOT NULL DEFAULT false,
  retention_start date,
  source_notice_id bigint,
  revision integer NOT NULL DEFAULT 0,
  individual_number_key_id varchar(32) NOT NULL,
  individual_number_blind_index bytea NOT NULL,
  name_key varchar(200) NOT NULL,
  address_key varchar(400) NOT NULL,
  PRIMARY KEY (id, expiry_year),
  CONSTRAINT identity_version_expiry_matches_start CHECK (
    (retention_start IS NULL AND expiry_year = {SENTINEL_YEAR})
    OR (retention_start IS NOT NULL AND expiry_year = extract(year FROM retention_start)::int + 150))
) PARTITION BY RANGE (expiry_year);
ALTER SEQUENCE {VERSION_TABLE}_id_seq OWNED BY {VERSION_TABLE}.id;
CREATE INDEX identity_version_person_idx ON {VERSION_TABLE} (person_id, update_sequence);
CREATE INDEX identity_version_source_notice_idx ON {VERSION_TABLE} (source_notice_id)
  WHERE source_notice_id IS NOT NULL;
-- Search keys: btree with text_pattern_ops (exact and prefix), partial on the current version (§4.2).
CREATE INDEX identity_version_seion_idx ON {VERSION_TABLE} (seion_kana text_pattern_ops, birth_date)
  WHERE is_current;
CREATE INDEX identity_version_name_key_idx ON {VERSION_TABLE} (name_key text_pattern_ops, birth_date)
  WHERE is_current;
CREATE INDEX identity_version_address_key_idx ON {VERSION_TABLE} (address_key text_pattern_ops)
  WHERE is_current;
CREATE INDEX identity_version_blind_index_idx ON {VERSION_TABLE} (individual_number_blind_index)
  WHERE is_current;
CREATE INDEX identity_version_key_id_idx ON {VERSION_TABLE} (individual_number_key_id);
{guard_triggers_sql(VERSION_TABLE)}
{create_partition_sql(VERSION_TABLE, SENTINEL_YEAR)}
"""

DROP_VERSION_TABLE = f"DROP TABLE {VERSION_TABLE}; "
