/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-connection.h"
#include "tsr-stable-list.h"
#include "tsr-vm-cell.h"
#include "tsr-window.h"

G_BEGIN_DECLS

struct _TsrWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template children */
  AdwWindowTitle       *window_title;
  GtkToggleButton      *search_button;
  GtkSearchBar         *search_bar;
  GtkSearchEntry       *search_entry;
  GtkMenuButton        *primary_menu_button;
  GtkButton            *start_button;
  GtkButton            *shutdown_button;
  AdwToastOverlay      *toast_overlay;
  GtkWidget            *main_box;
  GtkRevealer          *disconnected_revealer;
  GtkLabel             *disconnected_label;
  GtkSpinner           *disconnected_spinner;
  GtkStack             *stack;
  AdwStatusPage        *loading_page;
  GtkSpinner           *loading_spinner;
  AdwStatusPage        *error_page;
  GtkButton            *demo_button;
  GtkColumnView        *column_view;
  GtkSingleSelection   *selection;
  GtkSliceListModel    *slice_model;
  TsrStableList        *stable_model;
  GtkSortListModel     *sort_model;
  GtkFilterListModel   *filter_model;
  GtkColumnViewColumn  *label_column;
  GtkColumnViewColumn  *name_column;
  GtkColumnViewColumn  *state_column;
  GtkColumnViewColumn  *class_column;
  GtkColumnViewColumn  *template_column;
  GtkColumnViewColumn  *virt_mode_column;
  GtkColumnViewColumn  *network_column;
  GtkColumnViewColumn  *ip_column;
  GtkColumnViewColumn  *netmask_column;
  GtkColumnViewColumn  *gateway_column;
  GtkColumnViewColumn  *mac_column;
  GMenuModel           *vm_menu;
  GMenu                *copy_section;

  /* State */
  char                 *uri;
  GSettings            *settings;
  TsrConnection        *connection;
  GCancellable         *cancellable;
  GtkCustomFilter      *filter;
  char                 *search_text;   /* case-folded, without the template term */
  char                 *search_template; /* case-folded NAME of "template:NAME" */
  TsrVm                *selected_vm;
  GHashTable           *watched_vms;   /* TsrVm -> itself, reffed */
  GHashTable           *bound_vms;     /* TsrVm -> number of cells bound to it */
  guint                 unwatch_source;
  GListModel           *unwatch_model; /* the connection's VMs, while unwatch_source runs */
  guint                 resort_source;
  gint64                last_resort;
  GtkWidget            *context_menu;
  guint                 n_cells;       /* cells made so far */

  /* While the view gets its first rows a few at a time */
  GdkFrameClock        *fill_clock;
  guint                 fill_source;   /* makes the next rows */
  guint                 fill_probe;    /* runs once making them stalls no more */
  guint                 fill_rows;     /* how many the next round makes */
  gint64                fill_make_start;
  GTimeSpan             fill_make_time;
  gint64                fill_frame_start;
  gboolean              fill_pending_layout;

  /* Clones and imports (tsr-window-operations.c) */
  GtkMenuButton        *operations_button;
  GtkSpinner           *operations_spinner;
  GtkListBox           *operations_list;
  GListStore           *operations;      /* TsrOperation, while they run */
  char                 *pending_select;  /* a new VM to select once listed */
  guint                 pending_source;

  /* Disposables and media copies to clean up after VMs stopped */
  guint                 stopped_source;
};

/* tsr-window.c */
void                 _tsr_window_open_uri             (TsrWindow   *self,
                                                       const char  *uri);

/* tsr-window-list.c */
void                 _tsr_window_list_init            (TsrWindow   *self);
void                 _tsr_window_list_show            (TsrWindow   *self,
                                                       GListModel  *vms);
void                 _tsr_window_list_stop            (TsrWindow   *self);
void                 _tsr_window_list_fill_now        (TsrWindow   *self);
GtkColumnViewColumn *_tsr_window_get_column           (TsrWindow   *self,
                                                       const char  *field);
TsrVmCell           *_tsr_window_find_cell            (TsrWindow   *self,
                                                       TsrVm       *vm,
                                                       const char  *field);
void                 _tsr_window_cell_setup_cb        (TsrWindow          *self,
                                                       GtkListItem        *item,
                                                       GtkListItemFactory *factory);
void                 _tsr_window_cell_bind_cb         (TsrWindow          *self,
                                                       GtkListItem        *item,
                                                       GtkListItemFactory *factory);
void                 _tsr_window_cell_unbind_cb       (TsrWindow          *self,
                                                       GtkListItem        *item,
                                                       GtkListItemFactory *factory);

/* tsr-window-search.c */
void                 _tsr_window_class_search_init    (TsrWindowClass *klass);
void                 _tsr_window_search_init          (TsrWindow      *self);
void                 _tsr_window_search_update        (TsrWindow      *self);
void                 _tsr_window_search_refilter      (TsrWindow      *self);
void                 _tsr_window_search_changed_cb    (TsrWindow      *self,
                                                       GtkSearchEntry *entry);
void                 _tsr_window_search_activate_cb   (TsrWindow      *self,
                                                       GtkSearchEntry *entry);

/* tsr-window-actions.c */
void                 _tsr_window_class_actions_init   (TsrWindowClass *klass);
void                 _tsr_window_actions_init         (TsrWindow   *self);
void                 _tsr_window_actions_dispose      (TsrWindow   *self);
void                 _tsr_window_actions_update       (TsrWindow   *self);
void                 _tsr_window_add_error_toast      (TsrWindow   *self,
                                                       const GError *error);
void                 _tsr_window_popup_vm_menu        (TsrWindow   *self,
                                                       const char  *field,
                                                       double       x,
                                                       double       y);
void                 _tsr_window_list_secondary_pressed_cb (TsrWindow  *self,
                                                            int         n_press,
                                                            double      x,
                                                            double      y,
                                                            GtkGesture *gesture);

/* tsr-window-dialogs.c */
void                 _tsr_window_class_dialogs_init   (TsrWindowClass *klass);
void                 _tsr_window_dialogs_update       (TsrWindow   *self,
                                                       gboolean     connected);
void                 _tsr_window_row_activated_cb     (TsrWindow     *self,
                                                       guint          position,
                                                       GtkColumnView *view);
void                 _tsr_window_open_settings        (TsrWindow   *self,
                                                       TsrVm       *vm,
                                                       const char  *page);

/* tsr-window-operations.c */
void                 _tsr_window_class_operations_init (TsrWindowClass *klass);
void                 _tsr_window_operations_init      (TsrWindow   *self);
void                 _tsr_window_operations_dispose   (TsrWindow   *self);
void                 _tsr_window_operations_update    (TsrWindow   *self,
                                                       gboolean     connected);
void                 _tsr_window_open_import          (TsrWindow   *self,
                                                       GFile       *file);

/* tsr-window-delete.c */
void                 _tsr_window_class_delete_init    (TsrWindowClass *klass);
void                 _tsr_window_delete_init          (TsrWindow   *self);
void                 _tsr_window_delete_update        (TsrWindow   *self,
                                                       gboolean     connected);
void                 _tsr_window_vm_stopped_cb        (TsrWindow     *self,
                                                       TsrVm         *vm,
                                                       TsrConnection *connection);
void                 _tsr_window_recovered_cb         (TsrWindow          *self,
                                                       const char * const *lines,
                                                       TsrConnection      *connection);

G_END_DECLS
