/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "tsr-cli-private.h"
#include "tsr-cloner.h"
#include "tsr-connection.h"
#include "tsr-error.h"

/* qvm-clone SRC DST, as in Qubes, plus --linked, --keep-mac and a progress
 * line; Ctrl+C cancels and leaves nothing behind.
 */

int tsr_cli_clone (int    argc,
                   char **argv);

typedef struct
{
  Cli      *cli;
  gboolean  tty;
  gboolean  quiet;
  gint64    started;
  gboolean  cancelled;
  char     *name;
  char     *warning;
} CloneCall;

static void
clone_progress_cb (guint64     done,
                   guint64     total,
                   const char *stage,
                   gpointer    user_data)
{
  CloneCall *call = user_data;

  if (call->quiet || !call->tty)
    return;

  if (call->cancelled)
    {
      g_printerr ("\r\033[K%s", _("Cancelling…"));
      return;
    }

  if (total > 0)
    {
      g_autofree char *d = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *t = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);
      double elapsed = (g_get_monotonic_time () - call->started) / (double) G_USEC_PER_SEC;
      g_autofree char *left = NULL;

      if (done > 0 && done < total && elapsed > 1.0)
        left = g_strdup_printf (_(", %.0f s left"), elapsed * (total - done) / done);
      g_printerr ("\r\033[K%s: %3.0f%% (%s of %s%s)", stage, 100.0 * done / total, d, t,
                  left ? left : "");
    }
  else
    g_printerr ("\r\033[K%s…", stage);
}

static void
cloned_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  CloneCall *call = user_data;

  call->name = tsr_connection_clone_vm_finish (TSR_CONNECTION (object), result, &call->warning,
                                               &call->cli->error);
  g_main_loop_quit (call->cli->loop);
}

typedef struct
{
  GCancellable *cancellable;
  CloneCall    *call;
} Interrupt;

static gboolean
sigint_cb (gpointer user_data)
{
  Interrupt *interrupt = user_data;

  interrupt->call->cancelled = TRUE;
  if (interrupt->call->tty && !interrupt->call->quiet)
    g_printerr ("\r\033[K%s", _("Cancelling…"));
  g_cancellable_cancel (interrupt->cancellable);
  return G_SOURCE_CONTINUE;
}

int
tsr_cli_clone (int    argc,
               char **argv)
{
  g_autofree char *pool = NULL;
  gboolean linked = FALSE, keep_mac = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "linked", 0, 0, G_OPTION_ARG_NONE, &linked,
      N_("Linked clone: the source’s disks become a shared read-only base, and both VMs get "
         "a copy-on-write overlay on it (instant, uses no space up front)"), NULL },
    { "keep-mac", 0, 0, G_OPTION_ARG_NONE, &keep_mac,
      N_("Keep the source’s MAC addresses, and so its IP addresses (only one of the two VMs "
         "can then be on the network at a time)"), NULL },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &pool,
      N_("Storage pool for the clone’s disks (default: the pool of each source disk)"),
      N_("POOL") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (_("SRC DST"), _("Clone a virtual machine (Qubes: qvm-clone): same disks and "
                                 "settings, new UUID, MAC and IP address."), entries);
  g_autoptr(TsrCloneSpec) spec = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CloneCall call = { 0 };
  Interrupt interrupt = { cancellable, &call };
  Cli cli = { 0 };
  TsrVm *source;
  guint sigint;
  int status;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  if (argc != 3)
    {
      if (argc == 2)
        g_printerr (_("Name the clone too, for example “qvm-clone %s %s-clone-1”.\n"), argv[1],
                    argv[1]);
      else
        g_printerr (_("Give the VM to clone and the name of the clone. Run with --help to see "
                      "the options.\n"));
      return EXIT_USAGE;
    }
  if (!cli_open (&cli))
    {
      cli_clear (&cli);
      return EXIT_FAILED;
    }

  source = tsr_connection_lookup_vm (cli.conn, argv[1]);
  if (source == NULL)
    {
      g_printerr (_("No VM named “%s” on %s. Run “qvm-ls” to see the VMs.\n"), argv[1],
                  tsr_connection_get_uri (cli.conn));
      cli_clear (&cli);
      return EXIT_USAGE;
    }

  spec = tsr_clone_spec_new (argv[2]);
  spec->linked = linked;
  spec->keep_mac = keep_mac;
  spec->pool = g_strdup (pool);

  call.cli = &cli;
  call.quiet = quiet;
  call.tty = isatty (STDERR_FILENO);
  call.started = g_get_monotonic_time ();
  sigint = g_unix_signal_add (SIGINT, sigint_cb, &interrupt);
  tsr_connection_clone_vm_async (cli.conn, source, spec, clone_progress_cb, &call, cancellable,
                                 cloned_cb, &call);
  g_main_loop_run (cli.loop);
  g_source_remove (sigint);
  if (call.tty && !quiet)
    g_printerr ("\r\033[K");

  if (call.name == NULL)
    {
      g_printerr ("%s\n", cli.error->message);
      if (g_error_matches (cli.error, TSR_ERROR, TSR_ERROR_VM_RUNNING))
        g_printerr (_("Shut it down with “qvm-shutdown --wait %s”, then clone it again.\n"),
                    argv[1]);
      status = g_error_matches (cli.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
               ? EXIT_FAILED : exit_code_for (cli.error);
    }
  else
    {
      if (call.warning != NULL)
        g_printerr (_("Warning: %s\n"), call.warning);
      status = EXIT_OK;
    }

  g_free (call.name);
  g_free (call.warning);
  cli_clear (&cli);
  return status;
}
