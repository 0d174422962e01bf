/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the test programs; see tsr-test-util.h. */
#include "config.h"

#include <pwd.h>

#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt-gconfig/libvirt-gconfig.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-test-util.h"

gboolean
tsr_test_timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for: %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

gboolean
tsr_test_timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
tsr_test_store_result_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

GAsyncResult *
tsr_test_wait_result (GAsyncResult **slot,
                      guint          seconds)
{
  TSR_WAIT_UNTIL (*slot != NULL, seconds);
  return *slot;
}

char *
tsr_test_node_uri (void)
{
  const char *node = g_getenv ("TESSERA_TEST_NODE");

  g_assert_nonnull (node);
  g_assert_true (g_path_is_absolute (node));

  return g_strconcat ("test://", node, NULL);
}

TsrConnection *
tsr_test_open_connection (const char *uri,
                          guint       seconds)
{
  TsrConnection *conn = tsr_connection_new (uri);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_open_async (conn, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_open_finish (conn, tsr_test_wait_result (&result, seconds),
                                             &error));
  g_assert_no_error (error);
  return conn;
}

TsrConnection *
tsr_test_open_node (guint seconds)
{
  g_autofree char *uri = tsr_test_node_uri ();

  return tsr_test_open_connection (uri, seconds);
}

void
tsr_test_close_connection (TsrConnection *conn,
                           guint          seconds)
{
  gpointer weak = conn;
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  tsr_connection_close (conn);
  g_object_add_weak_pointer (G_OBJECT (conn), &weak);
  g_object_unref (conn);
  while (weak != NULL && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  if (weak != NULL)
    g_test_message ("connection still has %u references", G_OBJECT (weak)->ref_count);
  g_assert_null (weak);
}

GPtrArray *
tsr_test_get_prefs (TsrConnection *conn,
                    const char    *name,
                    guint          seconds)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *prefs;

  tsr_connection_get_prefs_async (conn, tsr_connection_lookup_vm (conn, name), NULL,
                                  tsr_test_store_result_cb, &result);
  TSR_WAIT_UNTIL (result != NULL, seconds);
  prefs = tsr_connection_get_prefs_finish (conn, result, &error);
  g_assert_no_error (error);
  return prefs;
}

const TsrPref *
tsr_test_find_pref (GPtrArray  *prefs,
                    const char *name)
{
  for (guint i = 0; i < prefs->len; i++)
    if (g_str_equal (((TsrPref *) g_ptr_array_index (prefs, i))->name, name))
      return g_ptr_array_index (prefs, i);
  g_assert_not_reached ();
}

int
tsr_test_compare_strings (gconstpointer a,
                          gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

gboolean
tsr_test_file_contains (const char *path,
                        const char *needle)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, needle) != NULL;
}

char *
tsr_test_screenshot_path (const char *name)
{
  const char *build_dir = g_getenv ("TESSERA_BUILD_DIR");
  g_autofree char *dir = g_build_filename (build_dir ? build_dir : ".", "screenshots", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return g_build_filename (dir, name, NULL);
}

void
tsr_test_copy_file (const char *src,
                    const char *dst)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (dst, contents, len, NULL));
  g_chmod (dst, 0644);
}

void
tsr_test_run_command (const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status;

  g_assert_true (g_spawn_command_line_sync (command, NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("“%s” failed: %s", command, err);
}

gboolean
tsr_test_libvirtd_running (void)
{
  g_autofree char *out = NULL;
  int status;

  return g_spawn_command_line_sync ("pgrep -x libvirtd", &out, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

void
tsr_test_stop_libvirtd (void)
{
  tsr_test_run_command ("pkill -x libvirtd");
  TSR_POLL_UNTIL (!tsr_test_libvirtd_running (), 30);
}

void
tsr_test_start_libvirtd (const char *config)
{
  g_autofree char *command = config ? g_strdup_printf ("libvirtd -d -f %s", config)
                                    : g_strdup ("libvirtd -d");

  tsr_test_run_command (command);
  TSR_POLL_UNTIL (tsr_test_libvirtd_running (), 30);
}

void
tsr_test_ensure_libvirtd (void)
{
  virConnectPtr conn = NULL;

  if (!tsr_test_libvirtd_running ())
    {
      g_printerr ("# libvirtd was not running (it crashed after an earlier test?): "
                  "starting it\n");
      tsr_test_start_libvirtd (NULL);
    }
  for (guint i = 0; i < 300 && conn == NULL; i++)
    {
      conn = virConnectOpen ("qemu:///system");
      if (conn == NULL)
        g_usleep (100 * 1000);
    }
  if (conn == NULL)
    g_error ("libvirtd does not answer on qemu:///system: %s", virGetLastErrorMessage ());
  virConnectClose (conn);
}

void
tsr_test_remove_flat_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle && (name = g_dir_read_name (handle)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

gboolean
tsr_test_kvm_usable (void)
{
  g_autofree char *cpuinfo = NULL;

  if (g_access ("/dev/kvm", R_OK | W_OK) != 0)
    return FALSE;
  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return FALSE;
  return strstr (cpuinfo, " vmx") != NULL || strstr (cpuinfo, " svm") != NULL;
}

char *
tsr_test_domain_xml (virConnectPtr  handle,
                     const char    *name,
                     unsigned int   flags)
{
  virDomainPtr dom = virDomainLookupByName (handle, name);
  char *xml;

  g_assert_nonnull (dom);
  xml = virDomainGetXMLDesc (dom, flags);
  virDomainFree (dom);
  return xml;
}

void
tsr_test_log_serial (virConnectPtr  handle,
                     const char    *name,
                     const char    *log,
                     gboolean       unlink_first)
{
  g_autofree char *xml = tsr_test_domain_xml (handle, name, VIR_DOMAIN_XML_INACTIVE);
  g_autofree char *tag = g_strdup_printf ("<serial type='pty'>\n      <log file='%s' append='on'/>",
                                          log);
  g_autoptr(GString) changed = g_string_new (xml);
  virDomainPtr dom;

  if (unlink_first)
    g_unlink (log);
  g_assert_cmpuint (g_string_replace (changed, "<serial type='pty'>", tag, 1), ==, 1);
  dom = virDomainDefineXML (handle, changed->str);
  g_assert_nonnull (dom);
  virDomainFree (dom);
}

char *
tsr_test_make_iso (const char *dir,
          const char *volume_id,
          const char *publisher)
{
  g_autofree char *tree = g_build_filename (dir, "tree", NULL);
  g_autofree char *boot = g_build_filename (tree, "boot.img", NULL);
  g_autofree char *iso = g_build_filename (dir, "media.iso", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  char zeros[2048] = { 0 };
  int status = 0;

  g_mkdir_with_parents (tree, 0700);
  g_file_set_contents (boot, zeros, sizeof zeros, &error);
  g_assert_no_error (error);
  g_unlink (iso);

  g_ptr_array_add (argv, (char *) "xorriso");
  g_ptr_array_add (argv, (char *) "-as");
  g_ptr_array_add (argv, (char *) "mkisofs");
  g_ptr_array_add (argv, (char *) "-quiet");
  g_ptr_array_add (argv, (char *) "-V");
  g_ptr_array_add (argv, (char *) volume_id);
  if (publisher != NULL)
    {
      g_ptr_array_add (argv, (char *) "-publisher");
      g_ptr_array_add (argv, (char *) publisher);
    }
  g_ptr_array_add (argv, (char *) "-b");
  g_ptr_array_add (argv, (char *) "boot.img");
  g_ptr_array_add (argv, (char *) "-no-emul-boot");
  g_ptr_array_add (argv, (char *) "-o");
  g_ptr_array_add (argv, iso);
  g_ptr_array_add (argv, tree);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* DIR stays flat, for tsr_test_remove_flat_dir(). */
  g_unlink (boot);
  g_rmdir (tree);
  return g_steal_pointer (&iso);
}

void
tsr_test_remove_domain (virConnectPtr  handle,
                        const char    *name)
{
  virDomainPtr dom = virDomainLookupByName (handle, name);

  if (dom == NULL)
    return;
  if (virDomainIsActive (dom) == 1)
    virDomainDestroy (dom);
  virDomainUndefine (dom);
  virDomainFree (dom);
}

static char *
run_cli_argv (GPtrArray   *argv,
              char       **envp,
              const char  *name,
              gboolean     log_stdout,
              int         *status,
              char       **err_out)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, status, &error));
  g_assert_no_error (error);
  if (err != NULL && *err != '\0')
    g_test_message ("%s stderr: %s", name, err);
  if (log_stdout && out != NULL && *out != '\0')
    g_test_message ("%s stdout: %s", name, out);
  if (err_out != NULL)
    *err_out = g_steal_pointer (&err);
  return g_steal_pointer (&out);
}

static void
add_cli_args (GPtrArray   *argv,
              const char  *cli_dir,
              const char  *uri,
              const char  *name,
              va_list      args)
{
  const char *arg;

  g_ptr_array_add (argv, g_build_filename (cli_dir, name, NULL));
  g_ptr_array_add (argv, g_strconcat ("--connect=", uri, NULL));
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
}

char *
tsr_test_run_cli_valist (const char  *cli_dir,
                         const char  *uri,
                         gboolean     log_stdout,
                         const char  *name,
                         int         *status,
                         char       **err_out,
                         va_list      args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  add_cli_args (argv, cli_dir, uri, name, args);
  return run_cli_argv (argv, NULL, name, log_stdout, status, err_out);
}

char *
tsr_test_run_cli_as (const char  *cli_dir,
                     const char  *uri,
                     const char  *user,
                     const char  *home,
                     const char  *name,
                     int         *status,
                     char       **err_out,
                     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) envp = g_get_environ ();
  va_list args;
  char *out;

  envp = g_environ_setenv (envp, "HOME", home, TRUE);
  envp = g_environ_setenv (envp, "TMPDIR", home, TRUE);
  envp = g_environ_unsetenv (envp, "TESSERA_STORAGE_ROUTE");
  g_ptr_array_add (argv, g_strdup ("setpriv"));
  struct passwd *pw = getpwnam (user);

  g_assert_nonnull (pw);
  g_ptr_array_add (argv, g_strdup_printf ("--reuid=%u", (unsigned) pw->pw_uid));
  g_ptr_array_add (argv, g_strdup_printf ("--regid=%u", (unsigned) pw->pw_gid));
  g_ptr_array_add (argv, g_strdup ("--init-groups"));
  g_ptr_array_add (argv, g_strdup ("--"));
  va_start (args, err_out);
  add_cli_args (argv, cli_dir, uri, name, args);
  va_end (args);
  out = run_cli_argv (argv, envp, name, TRUE, status, err_out);
  return out;
}

char *
tsr_test_run_cli (const char  *cli_dir,
                  const char  *uri,
                  gboolean     log_stdout,
                  const char  *name,
                  int         *status,
                  char       **err_out,
                  ...)
{
  va_list args;
  char *out;

  va_start (args, err_out);
  out = tsr_test_run_cli_valist (cli_dir, uri, log_stdout, name, status, err_out, args);
  va_end (args);
  return out;
}

typedef struct
{
  GTestFunc   func;
  GPtrArray  *programs;
} NeedingTest;

static void
needing_test_free (gpointer data)
{
  NeedingTest *test = data;

  g_ptr_array_unref (test->programs);
  g_free (test);
}

static void
needing_test_run (gconstpointer data)
{
  const NeedingTest *test = data;

  for (guint i = 0; i < test->programs->len; i++)
    {
      const char *program = g_ptr_array_index (test->programs, i);
      g_autofree char *found = g_find_program_in_path (program);

      if (found == NULL)
        {
          g_autofree char *reason = g_strdup_printf ("%s is not installed", program);

          g_test_skip (reason);
          return;
        }
    }
  test->func ();
}

void
tsr_test_add_func_needing (const char *path,
                           GTestFunc   func,
                           const char *program,
                           ...)
{
  NeedingTest *test = g_new0 (NeedingTest, 1);
  va_list args;

  test->func = func;
  test->programs = g_ptr_array_new_with_free_func (g_free);
  va_start (args, program);
  for (const char *p = program; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (test->programs, g_strdup (p));
  va_end (args);
  g_test_add_data_func_full (path, test, needing_test_run, needing_test_free);
}

static void
count_reports_cb (guint64     done,
                  guint64     total,
                  const char *stage,
                  gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* A small domain of the connection's own kind, called NAME. */
static virDomainPtr
define_other_domain (virConnectPtr  handle,
                     const char    *name)
{
  GVirConfigDomain *domain = gvir_config_domain_new ();
  GVirConfigDomainOs *os = gvir_config_domain_os_new ();
  g_autofree char *xml = NULL;
  gboolean test_driver = g_ascii_strcasecmp (virConnectGetType (handle), "Test") == 0;

  gvir_config_domain_set_virt_type (domain, test_driver ? GVIR_CONFIG_DOMAIN_VIRT_TEST
                                                        : GVIR_CONFIG_DOMAIN_VIRT_QEMU);
  gvir_config_domain_set_name (domain, name);
  gvir_config_domain_set_memory (domain, 64 * 1024);
  gvir_config_domain_os_set_os_type (os, GVIR_CONFIG_DOMAIN_OS_TYPE_HVM);
  gvir_config_domain_os_set_arch (os, "x86_64");
  gvir_config_domain_set_os (domain, os);
  xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
  g_object_unref (os);
  g_object_unref (domain);

  return virDomainDefineXML (handle, xml);
}

char *
tsr_test_clone_failing_at_define (TsrConnection *conn,
                                  const char    *source,
                                  TsrCloneSpec  *spec,
                                  guint          seconds,
                                  GError       **error)
{
  GMutex *reserve_lock = tsr_connection_get_reserve_lock (conn);
  TsrVm *vm = tsr_connection_lookup_vm (conn, source);
  g_autoptr(GAsyncResult) result = NULL;
  virDomainPtr other;
  guint reports = 0;
  char *name;

  g_assert_nonnull (vm);

  /* The clone's address reservation waits on this lock, and the clone
   * waits for its reservation right before it defines the domain.
   */
  g_mutex_lock (reserve_lock);
  tsr_connection_clone_vm_async (conn, vm, spec, count_reports_cb, &reports, NULL,
                                 tsr_test_store_result_cb, &result);
  /* The first report comes after the clone checked that the name is free. */
  TSR_WAIT_UNTIL (reports > 0 || result != NULL, seconds);
  other = result == NULL ? define_other_domain (tsr_connection_get_handle (conn), spec->name) : NULL;
  g_mutex_unlock (reserve_lock);
  g_assert_nonnull (other);

  tsr_test_wait_result (&result, seconds);
  name = tsr_connection_clone_vm_finish (conn, result, NULL, error);

  /* Seen come and go, so that the connection's list is as before. */
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, spec->name) != NULL, seconds);
  g_assert_cmpint (virDomainUndefine (other), ==, 0);
  virDomainFree (other);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, spec->name) == NULL, seconds);

  return name;
}

#ifdef TSR_TEST_UTIL_GTK

GtkWidget *
tsr_test_find_descendant (GtkWidget *widget,
                          GType      type)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = G_TYPE_CHECK_INSTANCE_TYPE (child, type)
                         ? child : tsr_test_find_descendant (child, type);

      if (found != NULL)
        return found;
    }

  return NULL;
}

gboolean
tsr_test_spin_until (TsrTestCondition condition,
                     gpointer         data,
                     guint            timeout_ms)
{
  gboolean timed_out = FALSE;
  guint source = g_timeout_add (timeout_ms, tsr_test_timed_out_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);

  return condition (data);
}

typedef struct
{
  guint ticks;
  guint wanted;
} Frames;

static gboolean
count_tick_cb (GtkWidget     *widget,
               GdkFrameClock *clock,
               gpointer       user_data)
{
  Frames *frames = user_data;

  frames->ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
enough_ticks (gpointer data)
{
  Frames *frames = data;

  return frames->ticks >= frames->wanted;
}

void
tsr_test_wait_for_frames (GtkWidget *widget,
                          guint      n_frames,
                          guint      timeout_ms)
{
  Frames frames = { 0, n_frames };
  guint id = gtk_widget_add_tick_callback (widget, count_tick_cb, &frames, NULL);

  g_assert_true (tsr_test_spin_until (enough_ticks, &frames, timeout_ms));
  gtk_widget_remove_tick_callback (widget, id);
}

gboolean
tsr_test_widget_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

gboolean
tsr_test_only_one_ref (gpointer object)
{
  return G_OBJECT (object)->ref_count == 1;
}

TsrWindow *
tsr_test_open_window (GtkApplication *app,
                      const char     *uri,
                      const char     *page,
                      guint           n_frames,
                      guint           timeout_ms)
{
  g_autofree char *node_uri = uri == NULL ? tsr_test_node_uri () : NULL;
  TsrWindow *window = tsr_window_new (app, uri != NULL ? uri : node_uri);

  /* Our own reference, so that closing can prove the window is freed. */
  g_object_ref (window);
  gtk_window_present (GTK_WINDOW (window));

  if (page != NULL)
    {
      g_assert_true (tsr_test_window_wait_for_page (window, page, timeout_ms));
      tsr_test_wait_for_frames (GTK_WIDGET (window), n_frames, timeout_ms);
    }

  return window;
}

void
tsr_test_render_widget (GtkWidget  *widget,
                        const char *name)
{
  g_autofree char *path = tsr_test_screenshot_path (name);
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GdkTexture) read_back = NULL;
  g_autoptr(GError) error = NULL;
  GtkSnapshot *snapshot;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  g_assert_true (gtk_widget_get_mapped (widget));
  snapshot = gtk_snapshot_new ();
  paintable = gtk_widget_paintable_new (widget);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));

  read_back = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (read_back), ==, width);
  g_test_message ("Screenshot: %s", path);
}

void
tsr_test_write_window_screenshot (GtkWidget  *window,
                                  const char *name,
                                  guint       n_frames,
                                  guint       timeout_ms)
{
  g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, window, timeout_ms));
  tsr_test_wait_for_frames (window, n_frames, timeout_ms);
  tsr_test_render_widget (window, name);
}

void
tsr_test_close_window (TsrWindow *window,
                       guint      timeout_ms)
{
  g_autoptr(TsrConnection) connection = g_object_ref (tsr_window_get_connection (window));

  gtk_window_close (GTK_WINDOW (window));

  g_assert_true (tsr_test_spin_until (tsr_test_only_one_ref, window, timeout_ms));
  g_assert_finalize_object (window);

  g_assert_true (tsr_test_spin_until (tsr_test_only_one_ref, connection, timeout_ms));
  g_assert_finalize_object (g_steal_pointer (&connection));
}

#endif
