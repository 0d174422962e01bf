/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the unit, integration and GUI test programs: waiting
 * on the main context, collecting async results, opening and closing
 * connections, and a few raw libvirt and CLI chores. The GTK helpers are
 * only in tsr_test_util_gui_dep (TSR_TEST_UTIL_GTK defined).
 */
#pragma once

#include <glib-object.h>
#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "tsr-cloner.h"
#include "tsr-connection.h"
#include "tsr-settings.h"

#ifdef TSR_TEST_UTIL_GTK
#include <gtk/gtk.h>

#include "tsr-test-window.h"
#endif

G_BEGIN_DECLS

/* Fails the test: USER_DATA is the condition's text. */
gboolean tsr_test_timeout_cb (gpointer user_data);

/* Sets the gboolean at USER_DATA; for timeouts that let the caller fail. */
gboolean tsr_test_timed_out_cb (gpointer user_data);

/* Runs the main context until COND holds; fails after SECONDS. */
#define TSR_WAIT_UNTIL(cond, seconds)                                          \
  G_STMT_START {                                                               \
    guint _id = g_timeout_add_seconds ((seconds), tsr_test_timeout_cb,         \
                                       (gpointer) #cond);                      \
    while (!(cond))                                                            \
      g_main_context_iteration (NULL, TRUE);                                   \
    g_source_remove (_id);                                                     \
  } G_STMT_END

/* For conditions that only a poll can see (the test's own raw libvirt view). */
#define TSR_POLL_UNTIL(cond, seconds)                                          \
  G_STMT_START {                                                               \
    gint64 _end = g_get_monotonic_time () + (gint64) (seconds) * G_USEC_PER_SEC; \
    while (!(cond))                                                            \
      {                                                                        \
        if (g_get_monotonic_time () > _end)                                    \
          g_error ("Timed out after %d s waiting for: %s", (seconds), #cond);  \
        while (g_main_context_iteration (NULL, FALSE));                        \
        g_usleep (100 * 1000);                                                 \
      }                                                                        \
  } G_STMT_END

/* A GAsyncReadyCallback storing a reference to the result in
 * *(GAsyncResult **) USER_DATA.
 */
void tsr_test_store_result_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data);

/* Waits up to SECONDS for *SLOT to be set; returns it. */
GAsyncResult *tsr_test_wait_result (GAsyncResult **slot,
                                    guint          seconds);

/* test://$TESSERA_TEST_NODE */
char *tsr_test_node_uri (void);

/* Opens URI, waiting up to SECONDS; asserts that it opened. */
TsrConnection *tsr_test_open_connection (const char *uri,
                                         guint       seconds);

/* Opens the test driver on $TESSERA_TEST_NODE. */
TsrConnection *tsr_test_open_node (guint seconds);

/* Closes CONN, drops the caller's reference and asserts that it is
 * finalised within SECONDS: worker threads drop their reference just
 * after their result reached the main thread.
 */
void tsr_test_close_connection (TsrConnection *conn,
                                guint          seconds);

/* The properties of VM NAME, as TsrPref, waiting up to SECONDS. */
GPtrArray *tsr_test_get_prefs (TsrConnection *conn,
                               const char    *name,
                               guint          seconds);

/* The property NAME in PREFS, which must be there. */
const TsrPref *tsr_test_find_pref (GPtrArray  *prefs,
                                   const char *name);

/* GCompareFunc over char ** elements (g_ptr_array_sort). */
int tsr_test_compare_strings (gconstpointer a,
                              gconstpointer b);

gboolean tsr_test_file_contains (const char *path,
                                 const char *needle);

/* $TESSERA_BUILD_DIR/screenshots/NAME; makes the folder. */
char *tsr_test_screenshot_path (const char *name);

/* Copies the file SRC to DST, readable by all (QEMU may run as another
 * user).
 */
void tsr_test_copy_file (const char *src,
                         const char *dst);

/* Runs COMMAND (g_spawn_command_line_sync()); fails the test with its
 * stderr unless it exits with 0.
 */
void tsr_test_run_command (const char *command);

/* Whether a libvirtd process is running on this machine. */
gboolean tsr_test_libvirtd_running (void);

/* Stops the system libvirtd (SIGTERM) and waits until its process is gone,
 * so that a new one can take its pid file.
 */
void tsr_test_stop_libvirtd (void);

/* Starts libvirtd as a daemon and waits until its process runs; with
 * CONFIG, from that configuration file instead of the system's.
 */
void tsr_test_start_libvirtd (const char *config);

/* Makes sure the system libvirtd runs and answers on qemu:///system
 * before a test program starts: libvirt 9.0's daemon crashes now and then
 * as it drops the event callbacks of a client that was killed (the crash
 * matrix kills clients on purpose), and one crash must not fail every
 * test program after it. Says so on stderr when it had to start it.
 */
void tsr_test_ensure_libvirtd (void);

/* Removes the files in DIR, then DIR: a flat folder of the test's own. */
void tsr_test_remove_flat_dir (const char *dir);

/* DIR/media.iso: an El Torito ISO with VOLUME_ID and PUBLISHER (may be
 * NULL), made with xorriso, as an installer's would be.
 */
char *tsr_test_make_iso (const char *dir,
                         const char *volume_id,
                         const char *publisher);

/* Whether /dev/kvm can be used and the CPU has vmx or svm. */
gboolean tsr_test_kvm_usable (void);

/* The XML of domain NAME (which must exist). */
char *tsr_test_domain_xml (virConnectPtr  handle,
                           const char    *name,
                           unsigned int   flags);

/* Adds a log file to the serial console of a defined domain, so the test
 * can read what the guest prints. Observation only: the rest of the
 * definition is what Tessera made. With UNLINK_FIRST, LOG is removed first.
 */
void tsr_test_log_serial (virConnectPtr  handle,
                          const char    *name,
                          const char    *log,
                          gboolean       unlink_first);

/* Destroys and undefines domain NAME if it exists. */
void tsr_test_remove_domain (virConnectPtr  handle,
                             const char    *name);

/* Runs CLI_DIR/NAME --connect=URI with the NULL-terminated arguments;
 * stores its wait status in *STATUS and returns its stdout. Its stderr is
 * logged, and returned in *ERR_OUT if not NULL; its stdout is logged too
 * with LOG_STDOUT.
 */
char *tsr_test_run_cli (const char  *cli_dir,
                        const char  *uri,
                        gboolean     log_stdout,
                        const char  *name,
                        int         *status,
                        char       **err_out,
                        ...) G_GNUC_NULL_TERMINATED;

/* tsr_test_run_cli() as USER (with that user's groups, through setpriv),
 * with HOME and TMPDIR set to HOME.
 */
char *tsr_test_run_cli_as (const char  *cli_dir,
                           const char  *uri,
                           const char  *user,
                           const char  *home,
                           const char  *name,
                           int         *status,
                           char       **err_out,
                           ...) G_GNUC_NULL_TERMINATED;

char *tsr_test_run_cli_valist (const char  *cli_dir,
                               const char  *uri,
                               gboolean     log_stdout,
                               const char  *name,
                               int         *status,
                               char       **err_out,
                               va_list      args);

/* Registers FUNC at PATH whatever is installed; when one of the programs
 * named after it (NULL-terminated) is not in $PATH, the test is skipped
 * with that as the reason, so that the count still shows it.
 */
void tsr_test_add_func_needing (const char *path,
                                GTestFunc   func,
                                const char *program,
                                ...) G_GNUC_NULL_TERMINATED;

/* Clones SOURCE as SPEC, and makes the clone fail for a real reason at its
 * very last step: another domain takes SPEC's name right before the clone
 * defines its own, so libvirt refuses the definition once everything else
 * (disks, overlays, the switched source, addresses) is in place. The other
 * domain is removed again before this returns. SOURCE must have an address
 * reserved: the clone reserves one too, and waits for that just before it
 * defines. Returns the clone's name, NULL with ERROR set when it failed.
 */
char *tsr_test_clone_failing_at_define (TsrConnection *conn,
                                        const char    *source,
                                        TsrCloneSpec  *spec,
                                        guint          seconds,
                                        GError       **error);

#ifdef TSR_TEST_UTIL_GTK

typedef gboolean (*TsrTestCondition) (gpointer data);

/* Runs the main context until CONDITION holds or TIMEOUT_MS passed; no
 * sleeping. Returns whether CONDITION holds.
 */
gboolean tsr_test_spin_until (TsrTestCondition condition,
                              gpointer         data,
                              guint            timeout_ms);

/* Lets WIDGET lay out and paint what changed (N_FRAMES frame clock
 * ticks), so that rows exist and a screenshot shows the current state.
 */
void tsr_test_wait_for_frames (GtkWidget *widget,
                               guint      n_frames,
                               guint      timeout_ms);

/* The first widget of TYPE under WIDGET, depth first, or NULL. */
GtkWidget *tsr_test_find_descendant (GtkWidget *widget,
                                     GType      type);

/* Conditions. */
gboolean tsr_test_widget_mapped (gpointer widget);
gboolean tsr_test_only_one_ref (gpointer object);

/* Presents a new main window on URI (NULL: tsr_test_node_uri()) and takes
 * a reference of the caller's, so that closing can prove the window is
 * freed. With PAGE, waits for it and then for N_FRAMES frames.
 */
TsrWindow *tsr_test_open_window (GtkApplication *app,
                                 const char     *uri,
                                 const char     *page,
                                 guint           n_frames,
                                 guint           timeout_ms);

/* Renders WIDGET, which must be mapped, as it is on screen into a PNG
 * at tsr_test_screenshot_path (NAME), and checks the file.
 */
void tsr_test_render_widget (GtkWidget  *widget,
                             const char *name);

/* Waits for WINDOW to be mapped and to draw N_FRAMES frames, then renders
 * it with tsr_test_render_widget().
 */
void tsr_test_write_window_screenshot (GtkWidget  *window,
                                       const char *name,
                                       guint       n_frames,
                                       guint       timeout_ms);

/* Closes WINDOW, opened with a reference of the caller's, and asserts that
 * it and its connection are finalised: calls in flight hold the window
 * until they return, cancelled.
 */
void tsr_test_close_window (TsrWindow *window,
                            guint      timeout_ms);

#endif

G_END_DECLS
