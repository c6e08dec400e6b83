-- allegro-feed store, version 6: events_by_sku is dropped. No query reads events by SKU
-- (a SKU's story is its statuses, statuses_by_sku), and keeping the index cost a write to
-- a page of its own for every event taken in: the SKUs of a stream of changes are spread
-- over the whole index, so almost every event dirtied one more page of it.
DROP INDEX events_by_sku;
