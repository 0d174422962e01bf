/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Install media inside another VM (`qvm-start VM --cdrom=SOURCE:/path`), on
 * the real libvirtd: a running source VM with the QEMU guest agent holds
 * the installer ISO on a disk of its own; the target installs from it and
 * then boots from its disk; nothing of the copy stays once the target
 * stops. Each refusal (source halted, no agent, path missing, path a
 * folder, no such VM) leaves the target and the pool as they were.
 * Part of test-integration (see its main()).
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-test-util.h"
#include "test-media-vm.h"

#define URI     "qemu:///system"
#define SOURCE  "tsr-it-mediasrc"
#define NOAGENT "tsr-it-noagent"
#define TARGET  "tsr-it-mediatgt"

static const char *workdir;
static const char *cli_dir;

#define run_cli(name, status, err, ...) \
  tsr_test_run_cli (cli_dir, URI, FALSE, name, status, err, __VA_ARGS__)

/* A kernel-booted test guest holding HOLDER as its disk vda, mounted at
 * /media; with AGENT, the guest agent's channel.
 */
static char *
holder_xml (const char *name,
            const char *holder,
            const char *log,
            gboolean    agent)
{
  return g_strdup_printf (
    "<domain type='%s'>"
    "  <name>%s</name>"
    "  <memory unit='MiB'>256</memory>"
    "  <vcpu>1</vcpu>"
    "  <os><type arch='x86_64' machine='pc'>hvm</type>"
    "    <kernel>%s/vmlinuz</kernel><initrd>%s/initramfs.img</initrd>"
    "    <cmdline>console=ttyS0 tessera.media=vda</cmdline></os>"
    "  <features><acpi/></features>"
    "  <on_poweroff>destroy</on_poweroff>"
    "  <devices>"
    "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "      <source file='%s'/><target dev='vda' bus='virtio'/><readonly/></disk>"
    "    <serial type='file'><source path='%s'/><target port='0'/></serial>"
    "    %s"
    "  </devices>"
    "</domain>",
    tsr_test_kvm_usable () ? "kvm" : "qemu", name, workdir, workdir, holder, log,
    agent ? "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
            "</channel>" : "");
}

static void
start_holder (virConnectPtr handle,
              const char   *name,
              const char   *holder,
              const char   *log,
              gboolean      agent)
{
  g_autofree char *xml = holder_xml (name, holder, log, agent);
  virDomainPtr dom;

  g_unlink (log);
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);
  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  virDomainFree (dom);
}

/* The copies of install media in Tessera's pool, joined by spaces. */
static char *
media_copies (virConnectPtr handle)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "tessera");
  virStorageVolPtr *vols = NULL;
  GString *names = g_string_new (NULL);
  int n;

  g_assert_nonnull (pool);
  virStoragePoolRefresh (pool, 0);
  n = virStoragePoolListAllVolumes (pool, &vols, 0);
  for (int i = 0; i < n; i++)
    {
      const char *vol_name = virStorageVolGetName (vols[i]);

      if (g_str_has_prefix (vol_name, "tessera-media-"))
        g_string_append_printf (names, "%s ", vol_name);
      virStorageVolFree (vols[i]);
    }
  free (vols);
  virStoragePoolFree (pool);
  return g_string_free (names, FALSE);
}

static int
state_of (virConnectPtr handle,
          const char   *name)
{
  virDomainPtr dom = virDomainLookupByName (handle, name);
  int state = -1, reason;

  g_assert_nonnull (dom);
  virDomainGetState (dom, &state, &reason, 0);
  virDomainFree (dom);
  return state;
}

/* Refused with exit code CODE and a message holding WANT; the target is
 * still off and no copy was left.
 */
static void
assert_refused (virConnectPtr handle,
                const char   *cdrom,
                int           code,
                const char   *want)
{
  g_autofree char *arg = g_strconcat ("--cdrom=", cdrom, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *copies = NULL;
  int status;

  out = run_cli ("qvm-start", &status, &err, TARGET, arg, NULL);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) != code || strstr (err, want) == NULL)
    g_error ("--cdrom=%s: exit %d, expected %d with “%s”: %s", cdrom, WEXITSTATUS (status), code,
             want, err);
  g_assert_cmpint (state_of (handle, TARGET), ==, VIR_DOMAIN_SHUTOFF);
  copies = media_copies (handle);
  g_assert_cmpstr (copies, ==, "");
}

static void
remove_target (virConnectPtr handle)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "tessera");

  tsr_test_remove_domain (handle, TARGET);
  if (pool != NULL)
    {
      virStorageVolPtr vol = virStorageVolLookupByName (pool, TARGET "-root.qcow2");

      if (vol != NULL)
        {
          virStorageVolDelete (vol, 0);
          virStorageVolFree (vol);
        }
      virStoragePoolFree (pool);
    }
  virResetLastError ();
}

static void
ensure_network (TsrConnection *conn)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_ensure_network_async (conn, g_getenv ("TESSERA_DEFAULT_NETVM"), TRUE, NULL,
                                       tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 120),
                                                       &error));
  g_assert_no_error (error);
}

static void
test_media_from_vm (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *holder_dir = g_build_filename (workdir, "holder", NULL);
  g_autofree char *holder = g_build_filename (workdir, "holder.iso", NULL);
  g_autofree char *installer = g_build_filename (workdir, "installer.iso", NULL);
  g_autofree char *held = g_build_filename (holder_dir, "installer.iso", NULL);
  g_autofree char *src_log = g_build_filename (workdir, "mediasrc-serial.log", NULL);
  g_autofree char *noagent_log = g_build_filename (workdir, "noagent-serial.log", NULL);
  g_autofree char *log = g_build_filename (workdir, "mediatgt-serial.log", NULL);
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *live = NULL;
  g_autofree char *copies = NULL;
  int status;

  tsr_test_remove_domain (handle, SOURCE);
  tsr_test_remove_domain (handle, NOAGENT);
  remove_target (handle);
  ensure_network (conn);

  /* The source's disk: an ISO 9660 file system holding the installer. */
  g_assert_cmpint (g_mkdir_with_parents (holder_dir, 0755), ==, 0);
  tsr_test_copy_file (installer, held);
  command = g_strdup_printf ("xorriso -as mkisofs -quiet -o '%s' '%s'", holder, holder_dir);
  tsr_test_run_command (command);
  g_chmod (holder, 0644);

  out = run_cli ("qvm-create", &status, NULL, TARGET, "--class", "StandaloneVM", "--property",
                 "virt_mode=hvm", "--property", "kernel=", "--label=green", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  tsr_test_log_serial (handle, TARGET, log, TRUE);

  /* Halted source, no such VM: refused before anything runs. */
  {
    g_autofree char *xml = holder_xml (NOAGENT, holder, noagent_log, FALSE);
    virDomainPtr dom = virDomainDefineXML (handle, xml);

    g_assert_nonnull (dom);
    virDomainFree (dom);
  }
  assert_refused (handle, NOAGENT ":/media/installer.iso", 1, "qvm-start " NOAGENT);
  assert_refused (handle, "tsr-it-nosuchvm:/media/installer.iso", 2, "No VM named");

  /* Both guests boot at once: one with the agent, one without. */
  start_holder (handle, SOURCE, holder, src_log, TRUE);
  tsr_test_run_command ("virsh -q -c " URI " start " NOAGENT);
  TSR_POLL_UNTIL (tsr_test_file_contains (src_log, "TESSERA-GUEST: ready"), 180);
  g_assert_true (tsr_test_file_contains (src_log, "TESSERA-GUEST: media mounted from vda"));
  g_assert_true (tsr_test_file_contains (src_log, "TESSERA-GUEST: agent started"));
  TSR_POLL_UNTIL (tsr_test_file_contains (noagent_log, "TESSERA-GUEST: ready"), 180);

  assert_refused (handle, NOAGENT ":/media/installer.iso", 1, "qemu-guest-agent");
  assert_refused (handle, SOURCE ":/media/missing.iso", 2, "could not be opened inside");
  assert_refused (handle, SOURCE ":/media", 2, "is a folder");

  /* Killed while copying: the next Tessera deletes the partial copy. */
  {
    g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_autoptr(GSubprocess) proc = NULL;
    g_autofree char *qvm_start = g_build_filename (cli_dir, "qvm-start", NULL);
    g_autoptr(GError) error = NULL;

    g_subprocess_launcher_setenv (launcher, "TESSERA_TEST_CRASH_AT", "media:copying", TRUE);
    proc = g_subprocess_launcher_spawn (launcher, &error, qvm_start, "--connect=" URI, TARGET,
                                        "--cdrom=" SOURCE ":/media/installer.iso", NULL);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_wait (proc, NULL, &error));
    g_assert_true (g_subprocess_get_if_signaled (proc));
    copies = media_copies (handle);
    g_assert_true (g_str_has_prefix (copies, "tessera-media-" TARGET "-"));
    g_clear_pointer (&copies, g_free);
    g_clear_pointer (&out, g_free);
    out = run_cli ("qvm-ls", &status, &err, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "media copy"));
    g_clear_pointer (&err, g_free);
    copies = media_copies (handle);
    g_assert_cmpstr (copies, ==, "");
    g_clear_pointer (&copies, g_free);
    g_assert_cmpint (state_of (handle, TARGET), ==, VIR_DOMAIN_SHUTOFF);
  }

  /* Ctrl+C while copying: cancelled, nothing left. */
  {
    g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) proc = NULL;
    g_autofree char *qvm_start = g_build_filename (cli_dir, "qvm-start", NULL);
    g_autofree char *said = NULL;
    g_autoptr(GError) error = NULL;

    g_subprocess_launcher_setenv (launcher, "TESSERA_TEST_PAUSE_AT", "media:copying", TRUE);
    proc = g_subprocess_launcher_spawn (launcher, &error, qvm_start, "--connect=" URI, TARGET,
                                        "--cdrom=" SOURCE ":/media/installer.iso", NULL);
    g_assert_no_error (error);
    {
      GInputStream *stream = g_subprocess_get_stderr_pipe (proc);
      g_autoptr(GDataInputStream) lines = g_data_input_stream_new (stream);
      g_autofree char *line = NULL;

      while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error)) != NULL &&
             strstr (line, "paused at media:copying") == NULL)
        g_clear_pointer (&line, g_free);
      g_assert_nonnull (line);
      g_subprocess_send_signal (proc, SIGINT);
      g_subprocess_send_signal (proc, SIGCONT);
      g_assert_true (g_subprocess_wait (proc, NULL, &error));
      said = g_data_input_stream_read_upto (lines, "", 0, NULL, NULL, NULL);
    }
    g_assert_true (g_subprocess_get_if_exited (proc));
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 1);
    copies = media_copies (handle);
    g_assert_cmpstr (copies, ==, "");
    g_clear_pointer (&copies, g_free);
    g_assert_cmpint (state_of (handle, TARGET), ==, VIR_DOMAIN_SHUTOFF);
  }

  /* The install: the target boots the copy once, installs, boots its disk. */
  out = run_cli ("qvm-start", &status, &err, TARGET, "--cdrom=" SOURCE ":/media/installer.iso",
                 NULL);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("qvm-start with media inside another VM failed: %s", err);
  g_clear_pointer (&out, g_free);
  live = tsr_test_domain_xml (handle, TARGET, 0);
  g_assert_nonnull (strstr (live, "device='cdrom'"));
  g_assert_nonnull (strstr (live, "/tessera-media-" TARGET "-"));
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from cdrom"), 180);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: installed to vda"), 180);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: ready"), 180);

  /* While it runs the copy is kept, even by another Tessera's sweep. */
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-ls", &status, NULL, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  copies = media_copies (handle);
  g_assert_true (g_str_has_prefix (copies, "tessera-media-" TARGET "-"));
  g_clear_pointer (&copies, g_free);

  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-shutdown", &status, NULL, "--wait", TARGET, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* The next Tessera that connects deletes the copy: nothing is kept. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  out = run_cli ("qvm-ls", &status, &err, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  copies = media_copies (handle);
  g_assert_cmpstr (copies, ==, "");

  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-start", &status, NULL, TARGET, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from disk"), 180);

  tsr_test_remove_domain (handle, SOURCE);
  tsr_test_remove_domain (handle, NOAGENT);
  remove_target (handle);
  g_unlink (held);
  g_rmdir (holder_dir);
  g_unlink (holder);
  tsr_test_close_connection (conn, 5);
}

void
tsr_it_add_media_vm_tests (const char *work_dir,
                           const char *cli)
{
  workdir = work_dir;
  cli_dir = cli;
  g_test_add_func ("/integration/start/media-inside-another-vm", test_media_from_vm);
}
