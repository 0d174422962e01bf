/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "tsr-cli.h"
#include "tsr-cli-private.h"
#include "tsr-remover.h"
#include "tsr-error.h"
#include "tsr-progress.h"

/* What the commands share: the connection, waiting for the core's async
 * calls, option parsing, error reporting and exit codes, the progress line
 * of long jobs; and the dispatch on the command name.
 */

static char *opt_connect = NULL;
static gboolean opt_verbose = FALSE;

/* Bad input (a name, a value, something that does not exist) is exit code
 * 2; anything that failed while doing the work, or was cancelled, is 1.
 */
static int
exit_code_for (const GError *error)
{
  if (error->domain == TSR_ERROR)
    {
      switch (error->code)
        {
        case TSR_ERROR_INVALID_NAME:
        case TSR_ERROR_NAME_IN_USE:
        case TSR_ERROR_INVALID_MAC:
        case TSR_ERROR_MAC_IN_USE:
        case TSR_ERROR_INVALID_VALUE:
        case TSR_ERROR_MEDIA_NOT_FOUND:
        case TSR_ERROR_NOT_FOUND:
          return TSR_CLI_EXIT_USAGE;
        default:
          break;
        }
    }
  return TSR_CLI_EXIT_FAILED;
}

int
tsr_cli_report_error (const GError *error)
{
  g_printerr ("%s\n", error->message);
  return exit_code_for (error);
}

/* Connection and waiting */

static const char *
default_uri (void)
{
  const char *env = g_getenv ("TESSERA_URI");

  if (opt_connect != NULL)
    return opt_connect;
  if (env != NULL && *env != '\0')
    return env;
  return TSR_DEFAULT_URI;
}

void
tsr_cli_async_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TsrCli *cli = user_data;

  g_assert (cli->result == NULL);
  cli->result = g_object_ref (result);
}

GAsyncResult *
tsr_cli_wait (TsrCli *cli)
{
  while (cli->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_clear_object (&cli->last_result);
  cli->last_result = g_steal_pointer (&cli->result);
  return cli->last_result;
}

gboolean
tsr_cli_open (TsrCli *cli)
{
  g_autoptr(GError) error = NULL;

  const char * const *recovered;

  cli->conn = tsr_connection_new (default_uri ());
  tsr_connection_open_async (cli->conn, NULL, tsr_cli_async_cb, cli);
  if (!tsr_connection_open_finish (cli->conn, tsr_cli_wait (cli), &error))
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }

  /* Operations a crash interrupted were finished on the way in. */
  recovered = tsr_connection_get_recovered (cli->conn);
  for (guint i = 0; recovered != NULL && recovered[i] != NULL; i++)
    g_printerr (_("Recovered: %s\n"), recovered[i]);

  /* DisposableVMs go when they stop; one that stopped while no Tessera
   * watched goes now.
   */
  {
    GListModel *vms = tsr_connection_get_vms (cli->conn);
    gboolean any = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (vms) && !any; i++)
      {
        g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);

        any = g_strcmp0 (tsr_vm_get_vm_class (vm), "DispVM") == 0 && !tsr_vm_is_active (vm);
      }
    if (any)
      {
        g_auto(GStrv) removed = NULL;

        tsr_connection_remove_disposables_async (cli->conn, NULL, tsr_cli_async_cb, cli);
        removed = tsr_connection_remove_disposables_finish (cli->conn, tsr_cli_wait (cli), NULL);
        for (guint i = 0; removed != NULL && removed[i] != NULL; i++)
          g_printerr (_("Removed disposable “%s”, which had stopped.\n"), removed[i]);
      }
  }

  return TRUE;
}

void
tsr_cli_clear (TsrCli *cli)
{
  if (cli->conn != NULL)
    tsr_connection_close (cli->conn);
  g_clear_object (&cli->conn);
  g_clear_object (&cli->result);
  g_clear_object (&cli->last_result);
}

TsrVm *
tsr_cli_lookup_vm (TsrCli     *cli,
                   const char *name)
{
  TsrVm *vm = tsr_connection_lookup_vm (cli->conn, name);

  if (vm == NULL)
    g_printerr (_("No VM named “%s” on %s. Run “qvm-ls” to see the VMs.\n"), name,
                tsr_connection_get_uri (cli->conn));
  return vm;
}

/* Options */

static const GOptionEntry common_entries[] = {
  { "connect", 'c', 0, G_OPTION_ARG_STRING, &opt_connect,
    N_("libvirt URI to manage (default: $TESSERA_URI or " TSR_DEFAULT_URI ")"), N_("URI") },
  { "verbose", 0, 0, G_OPTION_ARG_NONE, &opt_verbose,
    N_("Say how each step is done (for example whether images go through libvirt)"), NULL },
  { NULL }
};

GOptionContext *
tsr_cli_make_context (const char         *parameter_string,
                      const char         *summary,
                      const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameter_string);

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  return context;
}

/* With --verbose the core's g_info() lines go to stderr, one a line. */
static GLogWriterOutput
verbose_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
    {
      if (!opt_verbose || (level & G_LOG_LEVEL_DEBUG))
        return g_log_writer_default (level, fields, n_fields, user_data);
      for (gsize i = 0; i < n_fields; i++)
        if (g_str_equal (fields[i].key, "MESSAGE"))
          g_printerr ("tessera: %s\n", (const char *) fields[i].value);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

gboolean
tsr_cli_parse_args (GOptionContext   *context,
                    int              *argc,
                    char           ***argv)
{
  static gboolean writer_set = FALSE;
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s\n", error->message);
      g_printerr (_("Run with --help to see the options.\n"));
      return FALSE;
    }

  if (opt_verbose && !writer_set)
    {
      g_log_set_writer_func (verbose_writer, NULL, NULL);
      writer_set = TRUE;
    }
  return TRUE;
}

char *
tsr_cli_printable (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *c = text; *c != '\0'; c++)
    {
      guchar b = (guchar) *c;

      if (b == '\n')
        g_string_append (out, "\\n");
      else if (b == '\t')
        g_string_append (out, "\\t");
      else if (b == '\r')
        g_string_append (out, "\\r");
      else if (b < 0x20 || b == 0x7f)
        g_string_append_printf (out, "\\x%02x", b);
      else
        g_string_append_c (out, *c);
    }
  return g_string_free (out, FALSE);
}

void
tsr_cli_replace_string (char       **field,
                        const char  *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

gboolean
tsr_cli_set_property (TsrCreateSpec *spec,
                      const char    *key,
                      const char    *value)
{
  g_autoptr(GError) error = NULL;

  if (value != NULL && !tsr_create_spec_set_property (spec, key, value, &error))
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }

  return TRUE;
}

gboolean
tsr_cli_set_properties (TsrCreateSpec  *spec,
                        char          **properties)
{
  for (guint i = 0; properties != NULL && properties[i] != NULL; i++)
    {
      g_auto(GStrv) kv = g_strsplit (properties[i], "=", 2);

      if (kv[0] == NULL || kv[1] == NULL)
        {
          g_printerr (_("--property takes KEY=VALUE, not “%s”.\n"), properties[i]);
          return FALSE;
        }
      /* kernel='' arrives as an empty value: boot from disk or media. */
      if (!tsr_cli_set_property (spec, g_strstrip (kv[0]), kv[1]))
        return FALSE;
    }

  return TRUE;
}

/* Long jobs */

static gboolean
job_interrupted_cb (gpointer user_data)
{
  TsrCliJob *job = user_data;

  job->cancelled = TRUE;
  if (job->tty && !job->quiet)
    g_printerr ("\r\033[K%s", _("Cancelling…"));
  g_cancellable_cancel (job->cancellable);
  return G_SOURCE_CONTINUE;
}

void
tsr_cli_job_init (TsrCliJob *job,
                  gboolean   quiet)
{
  static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

  G_STATIC_ASSERT (G_N_ELEMENTS (signals) == G_N_ELEMENTS (job->signal_sources));

  job->cancellable = g_cancellable_new ();
  job->sized_total = 0;
  job->tty = isatty (STDERR_FILENO);
  job->quiet = quiet;
  job->cancelled = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    job->signal_sources[i] = g_unix_signal_add (signals[i], job_interrupted_cb, job);
}

void
tsr_cli_job_clear (TsrCliJob *job)
{
  for (guint i = 0; i < G_N_ELEMENTS (job->signal_sources); i++)
    g_clear_handle_id (&job->signal_sources[i], g_source_remove);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->name, g_free);
  g_clear_pointer (&job->note, g_free);
  g_clear_error (&job->error);
  tsr_cli_clear (&job->cli);
}

static char *
format_time_left (gint64 seconds)
{
  if (seconds < 60)
    return g_strdup (_("less than a minute left"));
  if (seconds < 3600)
    return g_strdup_printf (_("about %u min left"), (guint) ((seconds + 30) / 60));
  return g_strdup_printf (_("about %u h %02u min left"), (guint) (seconds / 3600),
                          (guint) (seconds % 3600 / 60));
}

void
tsr_cli_job_progress_cb (guint64     done,
                         guint64     total,
                         const char *stage,
                         gpointer    user_data)
{
  TsrCliJob *job = user_data;
  g_autofree char *d = NULL;
  g_autofree char *t = NULL;
  g_autofree char *left = NULL;
  gint64 now = g_get_monotonic_time ();
  gint64 seconds;

  if (job->quiet || !job->tty)
    return;

  if (job->cancelled)
    {
      g_printerr ("\r\033[K%s", _("Cancelling…"));
      return;
    }
  if (total == 0)
    {
      g_printerr ("\r\033[K%s…", stage);
      return;
    }

  /* Each stage with a size has a rate of its own, from its first report on. */
  done = MIN (done, total);
  if (total != job->sized_total)
    {
      job->sized_total = total;
      job->sized_done = done;
      job->sized_start = now;
    }
  seconds = tsr_progress_seconds_left (job->sized_start, now, done - job->sized_done,
                                       total - job->sized_done);
  if (seconds >= 0)
    left = format_time_left (seconds);

  d = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
  t = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);
  g_printerr ("\r\033[K%s: %3.0f%% (%s of %s)", stage, 100.0 * done / total, d, t);
  if (left != NULL)
    g_printerr (" — %s", left);
}

void
tsr_cli_job_end_line (TsrCliJob *job)
{
  if (job->tty && !job->quiet)
    g_printerr ("\r\033[K");
}

GAsyncResult *
tsr_cli_job_wait (TsrCliJob *job)
{
  GAsyncResult *result = tsr_cli_wait (&job->cli);

  tsr_cli_job_end_line (job);
  return result;
}

int
tsr_cli_job_report (TsrCliJob  *job,
                    const char *note_format)
{
  if (job->name == NULL)
    return tsr_cli_report_error (job->error);
  if (job->note != NULL)
    g_printerr (note_format, job->note);
  return TSR_CLI_EXIT_OK;
}

/* Dispatch */

static const struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
} commands[] = {
  { "create", tsr_cli_create },
  { "prefs", tsr_cli_prefs },
  { "pci", tsr_cli_pci },
  { "ls", tsr_cli_ls },
  { "start", tsr_cli_start },
  { "shutdown", tsr_cli_shutdown },
  { "kill", tsr_cli_kill },
  { "clone", tsr_cli_clone },
  { "import", tsr_cli_import },
  { "console", tsr_cli_console },
  { "remove", tsr_cli_remove },
  { "repair", tsr_cli_repair },
  { "volume", tsr_cli_volume },
};

static void
print_usage (const char *prog)
{
  g_printerr (_("Usage: %s [--connect URI] COMMAND [ARGS…]\n"
                "\n"
                "Commands:\n"
                "  create --label L VM  create a VM (also as qvm-create)\n"
                "  ls [-n]            list VMs (also as qvm-ls)\n"
                "  prefs VM [PROP [VALUE]]  show or change settings (also as qvm-prefs)\n"
                "  pci [attach|detach VM DEV]  host PCI devices (also as qvm-pci)\n"
                "  start [--cdrom=SRC] VM…  start VMs (also as qvm-start)\n"
                "  shutdown [--wait] VM…  shut VMs down (also as qvm-shutdown)\n"
                "  kill VM…           force VMs off (also as qvm-kill)\n"
                "  clone [--linked] SRC DST  clone a VM (also as qvm-clone)\n"
                "  import FILE [--name N]  import a VirtualBox appliance or disk image\n"
                "  console [--serial] VM  open a VM’s console window, or its serial console here\n"
                "  remove [-f] VM…    remove VMs and what is theirs (also as qvm-remove)\n"
                "  volume [list [VM…] | revert VM:root]  volumes, a template's revisions (also as qvm-volume)\n"
                "  repair             finish interrupted operations, release orphan addresses\n"
                "\n"
                "Run “%s COMMAND --help” for a command’s options.\n"), prog, prog);
}

/* tessera-cli [--connect URI] COMMAND …: the options before the command are
 * tessera-cli's, everything from the command on is the command's, so the
 * parse stops at the first word that is not an option. Returns the exit
 * code, or -1 when ARGV now starts with the command.
 */
static int
parse_global_options (const char   *prog,
                      int          *argc,
                      char       ***argv)
{
  gboolean help = FALSE, version = FALSE;
  const GOptionEntry entries[] = {
    { "connect", 'c', 0, G_OPTION_ARG_STRING, &opt_connect, NULL, NULL },
    { "verbose", 0, 0, G_OPTION_ARG_NONE, &opt_verbose, NULL, NULL },
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;

  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_help_enabled (context, FALSE);
  /* Left in place, to be named in our own message. */
  g_option_context_set_ignore_unknown_options (context, TRUE);
  g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s\n", error->message);
      print_usage (prog);
      return TSR_CLI_EXIT_USAGE;
    }
  if (*argc > 1 && (*argv)[1][0] == '-')
    {
      g_printerr (_("Unknown option “%s”.\n"), (*argv)[1]);
      print_usage (prog);
      return TSR_CLI_EXIT_USAGE;
    }
  if (help)
    {
      print_usage (prog);
      return TSR_CLI_EXIT_OK;
    }
  if (version)
    {
      g_print ("tessera-cli %s\n", PACKAGE_VERSION);
      return TSR_CLI_EXIT_OK;
    }
  if (*argc < 2)
    {
      print_usage (prog);
      return TSR_CLI_EXIT_USAGE;
    }

  *argc -= 1;
  *argv += 1;
  return -1;
}

int
tsr_cli_main (int    argc,
              char **argv)
{
  g_autofree char *prog = g_path_get_basename (argv[0]);
  const char *command;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (g_str_has_prefix (prog, "qvm-"))
    command = prog + strlen ("qvm-");
  else
    {
      int status = parse_global_options (prog, &argc, &argv);

      if (status >= 0)
        return status;
      command = argv[0];
      /* A command's --help names the command, as when run as qvm-COMMAND. */
      g_set_prgname (command);
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (command, commands[i].name) == 0)
        return commands[i].run (argc, argv);
    }

  g_printerr (_("Unknown command “%s”.\n"), command);
  print_usage (prog);
  return TSR_CLI_EXIT_USAGE;
}
