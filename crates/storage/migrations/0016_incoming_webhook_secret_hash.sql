-- Portable SQL, like 0001. The Incoming Webhook URL's secret is kept only as its hash
-- (`sha256:<hex>`, `kiku_domain::webhook_secret`). SQL cannot hash on both databases, so
-- the rows written before keep their plain secret here until the store's first start
-- after this migration hashes them (`sql/secrets.rs`, before it serves anything).
ALTER TABLE incoming_webhooks RENAME COLUMN secret TO secret_hash;
