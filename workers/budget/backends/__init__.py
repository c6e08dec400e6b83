"""Where the rate budget's state lives: memory (one process), SQLite (the processes of one
host), PostgreSQL (every host) or Redis (every host, high throughput)."""
