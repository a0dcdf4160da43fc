/*
 * carebankd's commands other than serve: init (init.c), backup and replay
 * (admin.c).
 */
#ifndef CAREBANK_INIT_H
#define CAREBANK_INIT_H

/* srv_init creates a centre in data. Returns a process exit status. */
int srv_init(const char *data, const char *id, const char *origin);

/* srv_log_key_path names a centre's log key file (caller frees). */
char *srv_log_key_path(const char *data, const char *id);

/* srv_backup copies the store hot into the new directory out. */
int srv_backup(const char *data, const char *out);

/* srv_replay verifies and replays every centre (or one). */
int srv_replay(const char *data, const char *centre);

#endif
