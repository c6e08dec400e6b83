-- allegro-feed store, SQLite, version 1.
-- Times are UTC ISO 8601 text with microseconds ("2026-07-18T12:00:00.000000+00:00"): one
-- fixed format, so text order is time order. JSON is TEXT. Booleans are 0/1.

-- Desired state per SKU: four parts, each with the version that last set it
-- (see workers/store/_merge.py).
CREATE TABLE products (
    account         TEXT    NOT NULL,
    sku             TEXT    NOT NULL,
    version         INTEGER NOT NULL,           -- highest version of any part
    event_id        TEXT    NOT NULL,           -- the event that last changed a part
    content         TEXT,                       -- JSON: product.upserted but price, stock
    content_version INTEGER,
    stock           TEXT,                       -- JSON: {available, unit}
    stock_version   INTEGER,
    price           TEXT,                       -- JSON: {amount, currency}
    price_version   INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    deleted_version INTEGER,                    -- newest upsert or delete
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (account, sku)
);

-- Every event recorded once: deduplication, and whether it was handed on to the actors.
CREATE TABLE events (
    event_id    TEXT    PRIMARY KEY,
    account     TEXT    NOT NULL,
    sku         TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,               -- new | superseded
    recorded_at TEXT    NOT NULL,
    dispatched  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_by_sku ON events (account, sku, version);

-- The offer registry: SKU <-> Allegro offer, and what was last published to it.
CREATE TABLE offers (
    account            TEXT    NOT NULL,
    sku                TEXT    NOT NULL,
    offer_id           TEXT    NOT NULL,
    publication_status TEXT,
    fingerprint        TEXT,
    published_version  INTEGER,
    published_body     TEXT,                    -- JSON
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (account, sku)
);
CREATE INDEX offers_by_offer_id ON offers (offer_id);

-- Per-SKU publishing lease.
CREATE TABLE leases (
    account    TEXT NOT NULL,
    sku        TEXT NOT NULL,
    owner      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (account, sku)
);

-- Category parameters as Allegro returned them, with the time they were fetched.
CREATE TABLE category_parameters (
    category_id TEXT PRIMARY KEY,
    parameters  TEXT NOT NULL,                  -- JSON array
    fetched_at  TEXT NOT NULL
);

-- OAuth tokens per seller account (workers.allegro.tokens.TokenSet.to_json).
CREATE TABLE tokens (
    account    TEXT PRIMARY KEY,
    tokens     TEXT NOT NULL,                   -- JSON; secret
    updated_at TEXT NOT NULL
);

-- Status history: the audit trail. At most one terminal status per event.
CREATE TABLE statuses (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT,                              -- null only for unreadable input
    account  TEXT,
    sku      TEXT,
    version  INTEGER,
    status   TEXT    NOT NULL,
    terminal INTEGER NOT NULL,
    at       TEXT    NOT NULL,
    message  TEXT    NOT NULL                   -- JSON: the StatusMessage
);
CREATE UNIQUE INDEX statuses_one_terminal ON statuses (event_id) WHERE terminal = 1;
CREATE INDEX statuses_by_sku ON statuses (account, sku, at);
CREATE INDEX statuses_by_time ON statuses (at, id);
