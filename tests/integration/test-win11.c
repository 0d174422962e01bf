/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A Windows 11-ready VM on a real libvirtd with QEMU (software emulation
 * where KVM is not usable): `qvm-create --property os=win11` makes it,
 * `qvm-prefs VM os` shows it, it boots OVMF with Secure Boot enforced
 * (OVMF refuses its own unsigned shell: "Security Violation" on the
 * serial port) while an swtpm process serves its TPM 2.0; then `qvm-clone`
 * copies its NVRAM and TPM state. No Windows image is needed.
 *
 * Everything made here is named tsr-w11-*, and is removed at the start
 * (what an interrupted run left) and at the end, NVRAM and TPM state too.
 */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-storage.h"
#include "tsr-test-util.h"

#define URI    "qemu:///system"
#define PREFIX "tsr-w11-"
#define SOURCE PREFIX "a"
#define CLONE  PREFIX "b"
#define SWTPM_DIR "/var/lib/libvirt/swtpm"
#define NVRAM_DIR "/var/lib/libvirt/qemu/nvram"

static const char *cli_dir;
static char *workdir;

#define run_cli(name, status, ...) \
  tsr_test_run_cli (cli_dir, URI, TRUE, name, status, NULL, __VA_ARGS__)

static gboolean
exited_ok (int status)
{
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

static void
cleanup_everything (void)
{
  virConnectPtr handle = virConnectOpen (URI);
  virDomainPtr *doms = NULL;
  virStoragePoolPtr pool;
  int n;

  g_assert_nonnull (handle);
  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virDomainGetName (doms[i]), PREFIX))
        {
          if (virDomainIsActive (doms[i]) == 1)
            virDomainDestroy (doms[i]);
          virDomainUndefineFlags (doms[i], VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM);
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();

  pool = virStoragePoolLookupByName (handle, TSR_DEFAULT_POOL);
  if (pool != NULL)
    {
      virStorageVolPtr *vols = NULL;
      int m;

      virStoragePoolRefresh (pool, 0);
      m = virStoragePoolListAllVolumes (pool, &vols, 0);
      for (int i = 0; i < m; i++)
        {
          if (g_str_has_prefix (virStorageVolGetName (vols[i]), PREFIX))
            virStorageVolDelete (vols[i], 0);
          virStorageVolFree (vols[i]);
        }
      free (vols);
      virStoragePoolFree (pool);
    }
  virResetLastError ();
  virConnectClose (handle);
}

static char *
uuid_of (virConnectPtr  handle,
         const char    *name)
{
  virDomainPtr dom = virDomainLookupByName (handle, name);
  char uuid[VIR_UUID_STRING_BUFLEN];

  g_assert_nonnull (dom);
  g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
  virDomainFree (dom);
  return g_strdup (uuid);
}

/* An swtpm process whose log is named after VM. */
static gboolean
swtpm_running_for (const char *vm)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  g_autofree char *needle = g_strdup_printf ("/%s-swtpm.log", vm);
  const char *pid;

  while (proc && (pid = g_dir_read_name (proc)))
    {
      g_autofree char *path = g_build_filename ("/proc", pid, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize len = 0;

      if (!g_ascii_isdigit (pid[0]) || !g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, "swtpm") != NULL && strstr (cmdline, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  const char *log;
  const char *text;
} LogWait;

/* Whether the log shows TEXT within SECONDS (the guest runs in QEMU,
 * nothing here needs the main loop meanwhile).
 */
static gboolean
log_shows (const LogWait *w,
           guint          seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  do
    {
      g_autofree char *contents = NULL;

      if (g_file_get_contents (w->log, &contents, NULL, NULL) && strstr (contents, w->text) != NULL)
        return TRUE;
      g_usleep (G_USEC_PER_SEC / 2);
    }
  while (g_get_monotonic_time () < end);
  return FALSE;
}

static char *
checksum_of (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

static void
test_create_boot_clone (void)
{
  virConnectPtr handle = virConnectOpen (URI);
  g_autofree char *log = g_build_filename (workdir, "serial.log", NULL);
  g_autofree char *out = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *uuid = NULL;
  g_autofree char *clone_uuid = NULL;
  g_autofree char *state = NULL;
  g_autofree char *clone_state = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *clone_sum = NULL;
  LogWait booted = { log, "BdsDxe" };
  LogWait refused = { log, "Security Violation" };
  virDomainPtr dom;
  int status = -1;

  g_assert_nonnull (handle);

  /* Less memory than Windows 11's minimum: a notice, not a refusal. */
  g_free (run_cli ("qvm-create", &status, SOURCE, "--class", "StandaloneVM", "--label", "blue",
                   "--property", "os=win11", "--property", "memory=512",
                   "--property", "netvm=", "--property", "disk_size=1G", NULL));
  g_assert_true (exited_ok (status));
  out = run_cli ("qvm-prefs", &status, SOURCE, "os", NULL);
  g_assert_true (exited_ok (status));
  g_assert_cmpstr (g_strstrip (out), ==, "win11");

  xml = tsr_test_domain_xml (handle, SOURCE, VIR_DOMAIN_XML_INACTIVE);
  g_assert_nonnull (strstr (xml, "<loader secure='yes'"));
  g_assert_nonnull (strstr (xml, "<backend type='emulator' version='2.0'"));
  g_assert_nonnull (strstr (xml, "<smm state='on'"));

  tsr_test_log_serial (handle, SOURCE, log, TRUE);
  dom = virDomainLookupByName (handle, SOURCE);
  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  g_assert_true (log_shows (&booted, 180));
  g_assert_true (swtpm_running_for (SOURCE));
  /* Secure Boot is on: OVMF will not start its unsigned shell. */
  g_assert_true (log_shows (&refused, 180));
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  virDomainFree (dom);

  uuid = uuid_of (handle, SOURCE);
  state = g_build_filename (SWTPM_DIR, uuid, "tpm2", "tpm2-00.permall", NULL);
  g_assert_true (g_file_test (state, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (NVRAM_DIR "/" SOURCE "_VARS.fd", G_FILE_TEST_IS_REGULAR));

  /* The clone: its own NVRAM and a copy of the TPM state. */
  g_free (run_cli ("qvm-clone", &status, SOURCE, CLONE, NULL));
  g_assert_true (exited_ok (status));
  g_assert_true (g_file_test (NVRAM_DIR "/" CLONE "_VARS.fd", G_FILE_TEST_IS_REGULAR));
  clone_uuid = uuid_of (handle, CLONE);
  g_assert_cmpstr (clone_uuid, !=, uuid);
  clone_state = g_build_filename (SWTPM_DIR, clone_uuid, "tpm2", "tpm2-00.permall", NULL);
  sum = checksum_of (state);
  clone_sum = checksum_of (clone_state);
  g_assert_cmpstr (sum, ==, clone_sum);

  virConnectClose (handle);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tsr_test_ensure_libvirtd ();
  signal (SIGPIPE, SIG_IGN);

  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (cli_dir);
  workdir = g_strdup ("/var/tmp/tessera-w11-it-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  g_chmod (workdir, 0777);

  cleanup_everything ();
  g_test_add_func ("/win11-it/create-boot-clone", test_create_boot_clone);
  ret = g_test_run ();
  cleanup_everything ();
  tsr_test_remove_flat_dir (workdir);
  g_free (workdir);
  return ret;
}
