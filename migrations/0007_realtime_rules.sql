-- Authorization of private realtime channels (docs/REALTIME.md): one rule
-- set {"select": "...", "insert": "..."} in the rules language over
-- realtime.topic, realtime.extension, realtime.presence_key and auth.*.
-- One row; no rule means closed.  Set through /admin/v1/realtime/rules.
CREATE TABLE _basalt_realtime_rules (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    rules       TEXT NOT NULL DEFAULT '{}',   -- JSON object: op -> rule text
    updated_at  INTEGER                       -- unix milliseconds
);
INSERT INTO _basalt_realtime_rules (id, rules) VALUES (1, '{}');
