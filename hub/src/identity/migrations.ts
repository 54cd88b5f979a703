/**
 * The identity schema's versioned migrations, one list per dialect with the same versions. A migration is
 * never edited once released: a change is a new version. Each adapter applies, in start(), every version
 * its `schema_migrations` table lacks, each in its own transaction together with its row in that table.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, password credentials, memberships, audit log, oidc-provider models',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE password_credentials (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        params_version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE memberships (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        gym TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('athlete', 'coach', 'gym_admin', 'platform_admin')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, gym, role)
      );
      CREATE INDEX memberships_by_gym ON memberships (gym, user_id, role);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        actor_user_id TEXT,
        gym TEXT,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_by_gym ON audit_log (gym, id);
      CREATE INDEX audit_by_actor ON audit_log (actor_user_id, id);
      CREATE TABLE oidc_models (
        model TEXT NOT NULL,
        id TEXT NOT NULL,
        payload TEXT NOT NULL,
        grant_id TEXT,
        user_code TEXT,
        uid TEXT,
        expires_at INTEGER,
        consumed_at INTEGER,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_by_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_by_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_by_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_by_expiry ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'second factors, recovery codes, one-time tokens, federated links, signing keys, named secrets',
    sql: `
      CREATE TABLE totp_factors (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        confirmed INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        last_used_step INTEGER
      );
      CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, hash)
      );
      CREATE TABLE one_time_tokens (
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
        gym TEXT,
        detail TEXT NOT NULL,
        PRIMARY KEY (kind, hash)
      );
      CREATE INDEX one_time_tokens_by_expiry ON one_time_tokens (expires_at);
      CREATE TABLE federated_identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
      );
      CREATE INDEX federated_identities_by_user ON federated_identities (user_id);
      CREATE TABLE signing_keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kid TEXT NOT NULL UNIQUE,
        alg TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
      CREATE TABLE named_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'athlete profiles: personal data and privacy choices',
    sql: `
      CREATE TABLE athlete_profiles (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        birth_date TEXT,
        sex TEXT CHECK (sex IN ('female', 'male', 'unspecified')),
        weight_kg REAL,
        height_cm REAL,
        max_heart_rate INTEGER,
        resting_heart_rate INTEGER,
        ftp_watts INTEGER,
        results_visibility TEXT NOT NULL CHECK (results_visibility IN ('only_me', 'friends', 'gym', 'everyone')),
        board_visibility TEXT NOT NULL CHECK (board_visibility IN ('name', 'alias', 'hidden')),
        board_alias TEXT,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'athlete profiles: opt-in to leaderboards',
    sql: `ALTER TABLE athlete_profiles ADD COLUMN leaderboards INTEGER NOT NULL DEFAULT 0 CHECK (leaderboards IN (0, 1));`,
  },
];

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, password credentials, memberships, audit log, oidc-provider models',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE
      );
      CREATE TABLE password_credentials (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        params_version INTEGER NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE memberships (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        gym TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('athlete', 'coach', 'gym_admin', 'platform_admin')),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, gym, role)
      );
      CREATE INDEX memberships_by_gym ON memberships (gym, user_id, role);
      CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        actor_user_id TEXT,
        gym TEXT,
        detail JSONB NOT NULL
      );
      CREATE INDEX audit_by_gym ON audit_log (gym, id);
      CREATE INDEX audit_by_actor ON audit_log (actor_user_id, id);
      CREATE TABLE oidc_models (
        model TEXT NOT NULL,
        id TEXT NOT NULL,
        payload JSONB NOT NULL,
        grant_id TEXT,
        user_code TEXT,
        uid TEXT,
        expires_at BIGINT,
        consumed_at BIGINT,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_by_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_by_user_code ON oidc_models (model, user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_by_uid ON oidc_models (model, uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_by_expiry ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'second factors, recovery codes, one-time tokens, federated links, signing keys, named secrets',
    sql: `
      CREATE TABLE totp_factors (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret TEXT NOT NULL,
        confirmed BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        last_used_step BIGINT
      );
      CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        used_at BIGINT,
        PRIMARY KEY (user_id, hash)
      );
      CREATE TABLE one_time_tokens (
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
        gym TEXT,
        detail JSONB NOT NULL,
        PRIMARY KEY (kind, hash)
      );
      CREATE INDEX one_time_tokens_by_expiry ON one_time_tokens (expires_at);
      CREATE TABLE federated_identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (issuer, subject)
      );
      CREATE INDEX federated_identities_by_user ON federated_identities (user_id);
      CREATE TABLE signing_keys (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kid TEXT NOT NULL UNIQUE,
        alg TEXT NOT NULL,
        private_jwk JSONB NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE TABLE named_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'athlete profiles: personal data and privacy choices',
    sql: `
      CREATE TABLE athlete_profiles (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        birth_date TEXT,
        sex TEXT CHECK (sex IN ('female', 'male', 'unspecified')),
        weight_kg DOUBLE PRECISION,
        height_cm DOUBLE PRECISION,
        max_heart_rate INTEGER,
        resting_heart_rate INTEGER,
        ftp_watts INTEGER,
        results_visibility TEXT NOT NULL CHECK (results_visibility IN ('only_me', 'friends', 'gym', 'everyone')),
        board_visibility TEXT NOT NULL CHECK (board_visibility IN ('name', 'alias', 'hidden')),
        board_alias TEXT,
        updated_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'athlete profiles: opt-in to leaderboards',
    sql: `ALTER TABLE athlete_profiles ADD COLUMN leaderboards BOOLEAN NOT NULL DEFAULT FALSE;`,
  },
];
