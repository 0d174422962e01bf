/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "tsr-cli-private.h"
#include "tsr-error.h"
#include "tsr-serial.h"

/* tessera-cli console [--serial] VMNAME. Without --serial it starts
 * Tessera's console window (tessera --console), which the GUI answers in a
 * running instance if there is one. With --serial it is virsh console:
 * the terminal in raw mode, stdin to the guest's serial port, the port to
 * stdout, all on the main loop, and Ctrl+] to leave.
 */

#define ESCAPE_CHAR 0x1d  /* Ctrl+] */

/* How long queued keystrokes may take to reach the guest once stdin
 * ended.
 */
#define DRAIN_SECONDS 5

/* The graphical console */

/* The tessera next to this tessera-cli: in the build tree src/gui/tessera
 * is ../gui/tessera from src/cli, once installed both are in bindir.
 * Otherwise the one in $PATH.
 */
static char *
find_gui (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;

  if (dir != NULL)
    {
      const char *candidates[] = { "../gui/tessera", "tessera" };

      for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
        {
          g_autofree char *path = g_build_filename (dir, candidates[i], NULL);

          if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) &&
              !g_file_test (path, G_FILE_TEST_IS_DIR))
            return g_steal_pointer (&path);
        }
    }

  return g_find_program_in_path ("tessera");
}

static int
run_gui (const char *name)
{
  g_autofree char *gui = find_gui ();
  g_autofree char *uri = NULL;
  const char *argv[6];

  {
    g_auto(TsrCli) cli = { 0 };

    /* A typo is answered here, not by a window. */
    if (!tsr_cli_open (&cli))
      return TSR_CLI_EXIT_FAILED;
    if (tsr_cli_lookup_vm (&cli, name) == NULL)
      return TSR_CLI_EXIT_USAGE;
    uri = g_strdup (tsr_connection_get_uri (cli.conn));
  }

  if (gui == NULL)
    {
      g_printerr (_("Cannot find Tessera’s window program “tessera”, neither next to "
                    "tessera-cli nor in $PATH. Install Tessera, or use “--serial” for the "
                    "serial console on this terminal.\n"));
      return TSR_CLI_EXIT_FAILED;
    }

  argv[0] = gui;
  argv[1] = "--connect";
  argv[2] = uri;
  argv[3] = "--console";
  argv[4] = name;
  argv[5] = NULL;
  execv (gui, (char **) argv);

  g_printerr (_("Could not start %s: %s\n"), gui, g_strerror (errno));
  return TSR_CLI_EXIT_FAILED;
}

/* The serial console on this terminal */

typedef struct
{
  TsrSerial      *serial;
  const char     *name;
  gboolean        done;
  gboolean        stdin_ended;
  int             status;
  gboolean        raw;
  struct termios  saved;
  guint           stdin_source;
  guint           signal_sources[3];
} Console;

static void
console_end (Console *console,
             int      status)
{
  if (console->done)
    return;
  console->done = TRUE;
  console->status = status;
}

static void
write_all (int         fd,
           const char *data,
           gsize       len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= n;
    }
}

static void
console_received_cb (TsrSerial *serial,
                     GBytes    *data,
                     Console   *console)
{
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  write_all (STDOUT_FILENO, bytes, len);
}

static void
console_closed_cb (TsrSerial    *serial,
                   const GError *error,
                   Console      *console)
{
  /* The terminal is raw: a line of ours starts at column 0 explicitly. */
  if (error != NULL)
    {
      g_printerr ("\r\n%s\r\n", error->message);
      console_end (console, TSR_CLI_EXIT_FAILED);
      return;
    }
  g_printerr ("\r\n");
  g_printerr (_("The serial console of “%s” ended: the VM stopped, or another console took "
                "it over."), console->name);
  g_printerr ("\r\n");
  console_end (console, TSR_CLI_EXIT_OK);
}

static gboolean
console_stdin_cb (int           fd,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  Console *console = user_data;
  char buf[4096];
  gssize n;
  const char *escape;

  n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      /* Piped input ended: what was read still goes to the guest. */
      console->stdin_ended = TRUE;
      console->stdin_source = 0;
      return G_SOURCE_REMOVE;
    }

  escape = memchr (buf, ESCAPE_CHAR, n);
  tsr_serial_write (console->serial, buf, escape != NULL ? escape - buf : n);
  if (escape != NULL)
    {
      console_end (console, TSR_CLI_EXIT_OK);
      console->stdin_source = 0;
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
console_signal_cb (gpointer user_data)
{
  Console *console = user_data;

  console_end (console, TSR_CLI_EXIT_FAILED);
  return G_SOURCE_CONTINUE;
}

/* Keys go to the guest as typed, Ctrl+C included, and the guest echoes
 * them: the terminal must neither echo nor interpret them.
 */
static void
console_make_raw (Console *console)
{
  struct termios raw;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &console->saved) < 0)
    return;
  raw = console->saved;
  cfmakeraw (&raw);
  if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) == 0)
    console->raw = TRUE;
}

static void
console_restore (Console *console)
{
  if (console->raw)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &console->saved);
  console->raw = FALSE;
}

static gboolean
drain_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
console_run (Console *console)
{
  static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

  G_STATIC_ASSERT (G_N_ELEMENTS (signals) == G_N_ELEMENTS (console->signal_sources));

  g_signal_connect (console->serial, "received", G_CALLBACK (console_received_cb), console);
  g_signal_connect (console->serial, "closed", G_CALLBACK (console_closed_cb), console);

  /* Signals arrive as sources, so the terminal is restored on the way out
   * like on every other path.
   */
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    console->signal_sources[i] = g_unix_signal_add (signals[i], console_signal_cb, console);
  console_make_raw (console);
  console->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                         console_stdin_cb, console);

  while (!console->done && !console->stdin_ended)
    g_main_context_iteration (NULL, TRUE);

  if (!console->done)
    {
      gboolean timed_out = FALSE;
      guint timeout = g_timeout_add_seconds (DRAIN_SECONDS, drain_timeout_cb, &timed_out);

      while (!console->done && !timed_out && tsr_serial_get_pending (console->serial) > 0)
        g_main_context_iteration (NULL, TRUE);
      if (!timed_out)
        g_source_remove (timeout);
      console_end (console, TSR_CLI_EXIT_OK);
    }

  console_restore (console);
  g_clear_handle_id (&console->stdin_source, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (console->signal_sources); i++)
    g_clear_handle_id (&console->signal_sources[i], g_source_remove);
  g_signal_handlers_disconnect_by_data (console->serial, console);
}

static int
run_serial (const char *name)
{
  g_auto(TsrCli) cli = { 0 };
  g_autoptr(TsrSerial) serial = NULL;
  g_autoptr(GError) error = NULL;
  Console console = { 0 };
  TsrVm *vm;

  if (!tsr_cli_open (&cli))
    return TSR_CLI_EXIT_FAILED;
  if (!(vm = tsr_cli_lookup_vm (&cli, name)))
    return TSR_CLI_EXIT_USAGE;

  tsr_serial_open_async (cli.conn, vm, NULL, tsr_cli_async_cb, &cli);
  serial = tsr_serial_open_finish (cli.conn, tsr_cli_wait (&cli), &error);
  if (serial == NULL)
    return tsr_cli_report_error (error);

  g_printerr (_("Connected to %s (escape character is ^])\n"), name);
  console.serial = serial;
  console.name = name;
  console_run (&console);
  tsr_serial_close (serial);

  return console.status;
}

int
tsr_cli_console (int    argc,
                 char **argv)
{
  gboolean serial = FALSE;
  const GOptionEntry entries[] = {
    { "serial", 's', 0, G_OPTION_ARG_NONE, &serial,
      N_("The serial console on this terminal instead of the console window"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("VMNAME"), _("Open a VM’s console."), entries);

  g_option_context_set_description (
    context,
    _("Without --serial, Tessera’s console window opens (tessera --console VMNAME).\n"
      "\n"
      "With --serial, this terminal becomes the VM’s serial console, like “virsh console”:\n"
      "what you type goes to the VM, Ctrl+C included. Ctrl+] leaves it (exit code 0).\n"
      "When the VM stops, the console ends with a message and exit code 0; when it\n"
      "cannot be opened (the VM is not running, has no serial port) the exit code is 1.\n"
      "Opening it takes the serial console over from any other client."));

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("Name one VM. Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }

  return serial ? run_serial (argv[1]) : run_gui (argv[1]);
}
