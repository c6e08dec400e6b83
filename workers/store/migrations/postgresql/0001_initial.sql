-- allegro-feed store, PostgreSQL, version 1. Times are TIMESTAMPTZ, JSON is JSONB.

-- Desired state per SKU: four parts, each with the version that last set it
-- (see workers/store/_merge.py).
CREATE TABLE products (
    account         TEXT        NOT NULL,
    sku             TEXT        NOT NULL,
    version         BIGINT      NOT NULL,       -- highest version of any part
    event_id        TEXT        NOT NULL,       -- the event that last changed a part
    content         JSONB,                      -- product.upserted but price, stock
    content_version BIGINT,
    stock           JSONB,                      -- {available, unit}
    stock_version   BIGINT,
    price           JSONB,                      -- {amount, currency}
    price_version   BIGINT,
    deleted         BOOLEAN     NOT NULL DEFAULT FALSE,
    deleted_version BIGINT,                     -- newest upsert or delete
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, sku)
);

-- Every event recorded once: deduplication, and whether it was handed on to the actors.
CREATE TABLE events (
    event_id    TEXT        PRIMARY KEY,
    account     TEXT        NOT NULL,
    sku         TEXT        NOT NULL,
    version     BIGINT      NOT NULL,
    type        TEXT        NOT NULL,
    outcome     TEXT        NOT NULL,           -- new | superseded
    recorded_at TIMESTAMPTZ NOT NULL,
    dispatched  BOOLEAN     NOT NULL DEFAULT FALSE
);
CREATE INDEX events_by_sku ON events (account, sku, version);

-- The offer registry: SKU <-> Allegro offer, and what was last published to it.
CREATE TABLE offers (
    account            TEXT        NOT NULL,
    sku                TEXT        NOT NULL,
    offer_id           TEXT        NOT NULL,
    publication_status TEXT,
    fingerprint        TEXT,
    published_version  BIGINT,
    published_body     JSONB,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, sku)
);
CREATE INDEX offers_by_offer_id ON offers (offer_id);

-- Per-SKU publishing lease.
CREATE TABLE leases (
    account    TEXT        NOT NULL,
    sku        TEXT        NOT NULL,
    owner      TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, sku)
);

-- Category parameters as Allegro returned them, with the time they were fetched.
CREATE TABLE category_parameters (
    category_id TEXT        PRIMARY KEY,
    parameters  JSONB       NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL
);

-- OAuth tokens per seller account (workers.allegro.tokens.TokenSet.to_json).
CREATE TABLE tokens (
    account    TEXT        PRIMARY KEY,
    tokens     JSONB       NOT NULL,            -- secret
    updated_at TIMESTAMPTZ NOT NULL
);

-- Status history: the audit trail. At most one terminal status per event.
CREATE TABLE statuses (
    id       BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT,                              -- null only for unreadable input
    account  TEXT,
    sku      TEXT,
    version  BIGINT,
    status   TEXT        NOT NULL,
    terminal BOOLEAN     NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    message  JSONB       NOT NULL               -- the StatusMessage
);
CREATE UNIQUE INDEX statuses_one_terminal ON statuses (event_id) WHERE terminal;
CREATE INDEX statuses_by_sku ON statuses (account, sku, at);
CREATE INDEX statuses_by_time ON statuses (at, id);
