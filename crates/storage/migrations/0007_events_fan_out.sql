-- Portable SQL, like 0001. An event is now fanned out to its deliveries in the transaction
-- that writes it; the separate `dispatch_event` step is gone. Dispatches still pending
-- become their deliveries here (a `deliver_webhook` job per enabled subscriber; the id is
-- any fresh UUID: the event's first 24 characters and the endpoint's last 12).
INSERT INTO jobs (id, kind, company_id, call_id, payload, state, attempts, max_attempts,
                  run_at_ms, created_at_ms, updated_at_ms)
SELECT substr(e.id, 1, 24) || substr(w.id, 25, 12), 'deliver_webhook', e.company_id, NULL,
       '{"event_id":"' || e.id || '","endpoint_id":"' || w.id || '","replay":false}',
       'queued', 0, 1000, j.run_at_ms, j.created_at_ms, j.updated_at_ms
FROM jobs j
JOIN events e ON e.id = substr(j.payload, 14, 36)
JOIN outgoing_webhooks w ON w.company_id = e.company_id AND w.enabled = 1
                        AND w.events LIKE '%"' || e.kind || '"%'
WHERE j.kind = 'dispatch_event' AND j.state IN ('queued', 'running');
DELETE FROM jobs WHERE kind = 'dispatch_event';
