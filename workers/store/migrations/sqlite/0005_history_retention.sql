-- allegro-feed store, version 5: the history is pruned by age (ALLEGRO_FEED_HISTORY_DAYS).
-- Statuses are found by their time through statuses_by_time; events need an index of
-- their own for it.
CREATE INDEX events_by_time ON events (recorded_at);
