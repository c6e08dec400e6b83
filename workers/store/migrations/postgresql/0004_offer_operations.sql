-- allegro-feed store, version 4: the registry keeps the operation of an offer whose
-- creation Allegro is still processing (a 202 of POST /sale/product-offers names the offer
-- and its operation at once). While it is set, the publish step polls that operation
-- instead of planning calls: the offer exists, so it is never POSTed again.
ALTER TABLE offers ADD COLUMN operation_url TEXT;
