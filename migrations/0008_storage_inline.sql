-- Buckets whose active content (HTML, SVG, XML: see st_mime_active) may be
-- shown inline.  By default such objects are served as attachments; either
-- way they carry Content-Security-Policy: sandbox and nosniff, so a file
-- uploaded by a user never runs script in the server's origin.
ALTER TABLE _basalt_buckets ADD COLUMN allow_inline INTEGER NOT NULL DEFAULT 0;
