-- Each configured TSA keeps its own coverage of every log: the stamper asks a TSA for a
-- token over a log's newest checkpoint until that TSA has one at or beyond it. This index
-- answers "how far has this TSA covered this log" without scanning the tokens.
CREATE INDEX timestamps_by_tsa ON timestamps (org, tsa, checkpoint_size);
