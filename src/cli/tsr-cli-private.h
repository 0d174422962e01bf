/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-creator.h"

G_BEGIN_DECLS

/* Exit codes, as in Qubes' tools: 0 ok, 1 the operation failed, 2 bad usage
 * or input.
 */
enum {
  TSR_CLI_EXIT_OK = 0,
  TSR_CLI_EXIT_FAILED = 1,
  TSR_CLI_EXIT_USAGE = 2,
};

/* One command's connection. The commands are written as a sequence of
 * steps: start a core call with tsr_cli_async_cb, then tsr_cli_wait() for
 * its result and call its _finish().
 */
typedef struct
{
  TsrConnection *conn;
  GAsyncResult  *result;
  GAsyncResult  *last_result;
  guint          pending;
  int            status;
} TsrCli;

void            tsr_cli_clear              (TsrCli             *cli);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TsrCli, tsr_cli_clear)

/* Opens the connection named by --connect, $TESSERA_URI or the default,
 * and waits until the VM list is loaded; prints the error and returns FALSE
 * on failure.
 */
gboolean        tsr_cli_open               (TsrCli             *cli);
/* The GAsyncReadyCallback for tsr_cli_wait(); user_data is the TsrCli. */
void            tsr_cli_async_cb           (GObject            *object,
                                            GAsyncResult       *result,
                                            gpointer            user_data);
/* Iterates the main context until the call started with tsr_cli_async_cb
 * has finished; the result stays valid until the next wait.
 */
GAsyncResult   *tsr_cli_wait               (TsrCli             *cli);
/* The VM named NAME, or NULL after telling the user to run qvm-ls. */
TsrVm          *tsr_cli_lookup_vm          (TsrCli             *cli,
                                            const char         *name);

/* An option context with --connect and ENTRIES. */
GOptionContext *tsr_cli_make_context       (const char         *parameter_string,
                                            const char         *summary,
                                            const GOptionEntry *entries);
gboolean        tsr_cli_parse_args         (GOptionContext     *context,
                                            int                *argc,
                                            char             ***argv);

/* Prints ERROR and returns its exit code: 2 for bad input
 * (TSR_ERROR_INVALID_*, *_IN_USE, *NOT_FOUND), else 1 (a cancelled
 * operation included).
 */
int             tsr_cli_report_error       (const GError       *error);

/* TEXT as one line a terminal shows as it is: control characters (a
 * network's or a label's name may hold a newline or a tab) are written as
 * \n, \t, \r or \xNN, so that no value can start a line of its own or
 * move the cursor.
 */
char           *tsr_cli_printable          (const char         *text);
/* Replaces *FIELD by a copy of VALUE unless VALUE is NULL (an option not
 * given keeps the spec's default).
 */
void            tsr_cli_replace_string     (char              **field,
                                            const char         *value);
/* tsr_create_spec_set_property() unless VALUE is NULL (the option was not
 * given); prints the error and returns FALSE.
 */
gboolean        tsr_cli_set_property       (TsrCreateSpec      *spec,
                                            const char         *key,
                                            const char         *value);
/* Each --property KEY=VALUE through tsr_cli_set_property(). */
gboolean        tsr_cli_set_properties     (TsrCreateSpec      *spec,
                                            char              **properties);

/* A long operation (create, clone, import) with a progress line on a
 * terminal. Ctrl+C, kill and a closed terminal cancel it, so its rollback
 * runs instead of the process dying half way. It holds the command's
 * connection and what the core's _finish() gave back.
 */
typedef struct
{
  TsrCli        cli;
  GCancellable *cancellable;
  gint64        sized_start;  /* when the bytes of sized_total began */
  guint64       sized_done;
  guint64       sized_total;
  gboolean      tty;
  gboolean      quiet;
  gboolean      cancelled;
  guint         signal_sources[3];
  char         *name;         /* what the job made, NULL when it failed */
  char         *note;         /* what the user should know about it */
  GError       *error;
} TsrCliJob;

void            tsr_cli_job_init           (TsrCliJob          *job,
                                            gboolean            quiet);
void            tsr_cli_job_clear          (TsrCliJob          *job);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TsrCliJob, tsr_cli_job_clear)
/* A TsrProgressFunc; progress_data is the TsrCliJob. */
void            tsr_cli_job_progress_cb    (guint64             done,
                                            guint64             total,
                                            const char         *stage,
                                            gpointer            user_data);
/* tsr_cli_wait() on the job's connection, then the progress line is
 * erased before the result is printed.
 */
GAsyncResult   *tsr_cli_job_wait           (TsrCliJob          *job);
/* Erases the progress line (on a terminal). */
void            tsr_cli_job_end_line       (TsrCliJob          *job);
/* Once _finish() filled name, note and error: the exit code, after
 * printing the error, or the note with NOTE_FORMAT ("Note: %s\n").
 */
int             tsr_cli_job_report         (TsrCliJob          *job,
                                            const char         *note_format);

/* The commands, each in its own file: argv[0] is the command's name. */
int             tsr_cli_ls                 (int                 argc,
                                            char              **argv);
int             tsr_cli_create             (int                 argc,
                                            char              **argv);
int             tsr_cli_prefs              (int                 argc,
                                            char              **argv);
int             tsr_cli_volume             (int                 argc,
                                            char              **argv);
int             tsr_cli_pci                (int                 argc,
                                            char              **argv);
int             tsr_cli_start              (int                 argc,
                                            char              **argv);
int             tsr_cli_shutdown           (int                 argc,
                                            char              **argv);
int             tsr_cli_kill               (int                 argc,
                                            char              **argv);
int             tsr_cli_clone              (int                 argc,
                                            char              **argv);
int             tsr_cli_import             (int                 argc,
                                            char              **argv);
int             tsr_cli_console            (int                 argc,
                                            char              **argv);
int             tsr_cli_remove             (int                 argc,
                                            char              **argv);
int             tsr_cli_repair             (int                 argc,
                                            char              **argv);

G_END_DECLS
