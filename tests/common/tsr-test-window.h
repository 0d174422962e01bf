/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-vm-cell.h"
#include "tsr-window.h"

G_BEGIN_DECLS

/* How the GUI tests look into the main window and drive it: through its
 * template children, properties and actions, as GTK's inspector would.
 * Test-only: the application never waits or writes screenshots like this.
 */

GtkColumnView       *tsr_test_window_get_column_view      (TsrWindow   *window);
GtkColumnViewColumn *tsr_test_window_get_column           (TsrWindow   *window,
                                                           const char  *field);
GListModel          *tsr_test_window_get_model            (TsrWindow   *window);
const char          *tsr_test_window_get_page             (TsrWindow   *window);
gboolean             tsr_test_window_wait_for_page        (TsrWindow   *window,
                                                           const char  *page,
                                                           guint        timeout_ms);
GMenuModel          *tsr_test_window_get_vm_menu          (TsrWindow   *window);
GtkPopover          *tsr_test_window_get_context_menu     (TsrWindow   *window);
TsrVmCell           *tsr_test_window_find_cell            (TsrWindow   *window,
                                                           const char  *vm_name,
                                                           const char  *field);
void                 tsr_test_window_popup_vm_menu        (TsrWindow   *window,
                                                           const char  *field);
const char          *tsr_test_window_get_subtitle         (TsrWindow   *window);
GtkEditable         *tsr_test_window_get_search_entry     (TsrWindow   *window);
gboolean             tsr_test_window_get_disconnected_shown (TsrWindow *window);
const char          *tsr_test_window_get_disconnected_text (TsrWindow  *window);
AdwStatusPage       *tsr_test_window_get_error_page       (TsrWindow   *window);
GtkWidget           *tsr_test_window_get_demo_button      (TsrWindow   *window);
GtkWidget           *tsr_test_window_get_start_button     (TsrWindow   *window);
GtkWidget           *tsr_test_window_get_shutdown_button  (TsrWindow   *window);
gboolean             tsr_test_window_write_screenshot     (TsrWindow   *window,
                                                           const char  *path,
                                                           GError     **error);

G_END_DECLS
