-- grpo.c database, schema version 1.  Compiled into the binary (db/schema.c).
-- One file per project directory, many runs in it.  Rank 0 is the only writer;
-- WAL mode lets sqlite3 and `grpo query` read while a run writes.
-- Column names that queries and docs rely on are listed in DESIGN.md:
-- add columns freely, rename none.

CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL DEFAULT 'train',      -- train | pretrain | eval
    config    TEXT NOT NULL,                      -- the resolved config, as INI text
    seed      INTEGER NOT NULL,
    started   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished  TEXT,
    status    TEXT NOT NULL DEFAULT 'running',    -- running | done | failed | stopped
    git_rev   TEXT,
    host      TEXT,
    n_ranks   INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX runs_name ON runs(name);

-- One row per optimizer step: every metric of the step (NULL where it does not apply).
CREATE TABLE steps (
    run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step              INTEGER NOT NULL,
    time              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    loss              REAL,
    heldout_loss      REAL,
    reward_mean       REAL,
    reward_std        REAL,
    accuracy          REAL,
    format_rate       REAL,
    recheck_rate      REAL,
    response_len_mean REAL,
    response_len_max  REAL,
    kl                REAL,
    clip_frac         REAL,
    clip_frac_low     REAL,
    clip_frac_high    REAL,
    entropy           REAL,
    grad_norm         REAL,
    lr                REAL,
    zero_var_frac     REAL,
    tokens_per_s      REAL,
    t_rollout         REAL,   -- seconds in each phase of the step
    t_reward          REAL,
    t_learn           REAL,
    t_db              REAL,
    skipped           INTEGER NOT NULL DEFAULT 0,   -- 1: non-finite update skipped
    PRIMARY KEY (run_id, step)
);

CREATE TABLE prompts (
    id        INTEGER PRIMARY KEY,
    task      TEXT NOT NULL,
    text      TEXT NOT NULL,
    gold      TEXT,
    tests     TEXT,
    UNIQUE (task, text)
);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
    reward_mean REAL,
    reward_std  REAL,
    filtered    INTEGER NOT NULL DEFAULT 0     -- 1: dropped (zero variance)
);
CREATE INDEX groups_run_step ON groups(run_id, step);

CREATE TABLE episodes (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    group_id       INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    prompt_id      INTEGER NOT NULL REFERENCES prompts(id),
    sample         INTEGER NOT NULL,
    worker         INTEGER NOT NULL,
    policy_version INTEGER NOT NULL,
    completion     TEXT,
    n_tokens       INTEGER NOT NULL,
    finish_reason  TEXT NOT NULL,               -- eos | stop | length
    reward         REAL NOT NULL,
    advantage      REAL,
    correct        INTEGER,
    format_ok      INTEGER,
    logprob_mean   REAL,
    t_sample       REAL,
    t_reward       REAL
);
CREATE INDEX episodes_run_step ON episodes(run_id, step);
CREATE INDEX episodes_prompt ON episodes(prompt_id);
CREATE INDEX episodes_group ON episodes(group_id);

CREATE TABLE reward_parts (
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      REAL NOT NULL,
    detail     TEXT
);
CREATE INDEX reward_parts_episode ON reward_parts(episode_id);

CREATE TABLE sandbox_runs (
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    test       INTEGER NOT NULL,
    verdict    TEXT NOT NULL,
    exit_code  INTEGER,
    signal     INTEGER,
    cpu_ms     REAL,
    wall_ms    REAL,
    rss_kb     INTEGER,
    output     TEXT
);
CREATE INDEX sandbox_runs_episode ON sandbox_runs(episode_id);

CREATE TABLE evals (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step   INTEGER NOT NULL,
    split  TEXT NOT NULL,
    metric TEXT NOT NULL,
    value  REAL NOT NULL,
    time   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, step, split, metric)
);

CREATE TABLE checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step   INTEGER NOT NULL,
    path   TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    time   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, step)
);

-- Views for the common questions.
CREATE VIEW learning_curve AS
    SELECT r.name AS run, r.kind, s.run_id, s.step, s.reward_mean, s.accuracy, s.format_rate,
           s.recheck_rate, s.response_len_mean, s.kl, s.entropy, s.loss
    FROM steps s JOIN runs r ON r.id = s.run_id;

CREATE VIEW reward_parts_by_step AS
    SELECT e.run_id, e.step, p.name, avg(p.value) AS mean, count(*) AS n
    FROM reward_parts p JOIN episodes e ON e.id = p.episode_id
    GROUP BY e.run_id, e.step, p.name;

CREATE VIEW recheck_by_step AS
    SELECT run_id, step, avg(completion LIKE '%wait%') AS recheck_rate,
           avg(n_tokens) AS response_len_mean
    FROM episodes GROUP BY run_id, step;

CREATE VIEW prompt_stats AS
    SELECT e.run_id, e.prompt_id, p.text, p.gold, count(*) AS n,
           avg(e.reward) AS reward_mean, avg(coalesce(e.correct, 0)) AS accuracy
    FROM episodes e JOIN prompts p ON p.id = e.prompt_id
    GROUP BY e.run_id, e.prompt_id;

CREATE VIEW worst_prompts AS
    SELECT * FROM prompt_stats WHERE n >= 4 ORDER BY accuracy ASC, reward_mean ASC;

-- pass@1 and pass@G of each group (G = its sample count), by prompt and step.
CREATE VIEW group_pass AS
    SELECT e.run_id, e.step, e.prompt_id, p.text, count(*) AS k,
           avg(coalesce(e.correct, 0)) AS pass_at_1, max(coalesce(e.correct, 0)) AS pass_at_k
    FROM episodes e JOIN prompts p ON p.id = e.prompt_id
    GROUP BY e.group_id;
