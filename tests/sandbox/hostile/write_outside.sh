# Tries to write outside the work dir; prints one line per attempt.
# Expected: every host path refused; /tmp works but is private.
for p in /grpo-sb-probe /etc/grpo-sb-probe /usr/grpo-sb-probe /usr/bin/grpo-sb-probe \
         /dev/grpo-sb-probe /proc/grpo-sb-probe /root/grpo-sb-probe /home/grpo-sb-probe; do
    if (echo pwned > "$p") 2>/dev/null; then echo "WROTE $p"; else echo "refused $p"; fi
done
echo pwned > /tmp/grpo-sb-probe && echo "tmp ok"
echo pwned > /work/grpo-sb-probe && echo "work ok"
