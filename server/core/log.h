/* log.h - leveled logging to stderr, one line per call.
 * Lines look like `2026-11-26T15:00:00.123Z INFO  message`.  Safe from any
 * thread (each line is written with one write(2) call). */
#ifndef BS_LOG_H
#define BS_LOG_H

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(int level);
int log_level(void);
/* Parse "error|warn|info|debug"; -1 when unknown. */
int log_parse_level(const char *s);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
