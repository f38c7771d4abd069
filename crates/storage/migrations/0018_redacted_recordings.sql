-- Portable SQL, like 0001. A recording's redacted copy (docs/analysis.md, *Personal data
-- redaction*): once it is stored, `audio_key` points at the copy (a 16-bit PCM WAV) and
-- `audio_redacted_at_ms` says since when; `original_audio_key` holds the original's key
-- while the original is kept, and is cleared once it has been deleted.
ALTER TABLE calls ADD COLUMN audio_redacted_at_ms BIGINT;
ALTER TABLE calls ADD COLUMN original_audio_key TEXT;
