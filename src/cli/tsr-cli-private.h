/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* Exit codes, as in Qubes' tools: 0 ok, 1 the operation failed, 2 bad usage
 * or input.
 */
enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

/* One command's connection and main loop. */
typedef struct
{
  GMainLoop     *loop;
  TsrConnection *conn;
  GError        *error;
  gboolean       done;
  guint          pending;
  int            status;
} Cli;

/* Opens the connection named by --connect, $TESSERA_URI or the default,
 * and waits until the VM list is loaded; prints the error and returns FALSE
 * on failure.
 */
gboolean        cli_open      (Cli                *cli);
void            cli_clear     (Cli                *cli);
/* An option context with --connect and ENTRIES. */
GOptionContext *make_context  (const char         *parameter_string,
                               const char         *summary,
                               const GOptionEntry *entries);
gboolean        parse_args    (GOptionContext     *context,
                               int                *argc,
                               char             ***argv);
/* 2 for bad input (TSR_ERROR_INVALID_*, *_IN_USE, *NOT_FOUND), else 1. */
int             exit_code_for (const GError       *error);

/* Commands in their own files. */
int             tsr_cli_prefs (int                 argc,
                               char              **argv);
int             tsr_cli_pci   (int                 argc,
                               char              **argv);

G_END_DECLS
