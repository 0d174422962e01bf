/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The graphical console: a GTK 4 widget showing a VNC server's screen
 * through libgvnc's GTK-free VncConnection, and forwarding the keyboard
 * (as XT scancodes where the server takes them) and an absolute pointer.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum
{
  TSR_VNC_SCALE_FIT,
  TSR_VNC_SCALE_ONE_TO_ONE,
} TsrVncScale;

#define TSR_TYPE_VNC_SCALE (tsr_vnc_scale_get_type ())
GType tsr_vnc_scale_get_type (void) G_GNUC_CONST;

#define TSR_TYPE_VNC_VIEW (tsr_vnc_view_get_type ())
G_DECLARE_FINAL_TYPE (TsrVncView, tsr_vnc_view, TSR, VNC_VIEW, GtkWidget)

GtkWidget   *tsr_vnc_view_new                 (void);

/* Takes FD, a connected stream socket; the protocol then runs on the main
 * loop. An open connection is closed first.
 */
void         tsr_vnc_view_open_fd             (TsrVncView   *self,
                                               int           fd);

/* Closes the connection, emitting "disconnected" if it was open; the last
 * frame stays, dimmed.
 */
void         tsr_vnc_view_close               (TsrVncView   *self);

gboolean     tsr_vnc_view_get_connected       (TsrVncView   *self);
int          tsr_vnc_view_get_guest_width     (TsrVncView   *self);
int          tsr_vnc_view_get_guest_height    (TsrVncView   *self);

void         tsr_vnc_view_set_scale           (TsrVncView   *self,
                                               TsrVncScale   scale);
TsrVncScale  tsr_vnc_view_get_scale           (TsrVncView   *self);

gboolean     tsr_vnc_view_get_keyboard_grabbed (TsrVncView  *self);
void         tsr_vnc_view_grab_keyboard       (TsrVncView   *self);
void         tsr_vnc_view_release_keyboard    (TsrVncView   *self);

/* The keys that release the keyboard grab, for the window to show. */
const char  *tsr_vnc_view_get_grab_hint       (TsrVncView   *self);

/* Presses the evdev key codes in order, then releases them in reverse. */
void         tsr_vnc_view_send_keys           (TsrVncView   *self,
                                               const guint  *evdev_codes,
                                               gsize         n);

/* Types TEXT as key presses (QEMU paces them for the guest). Returns how
 * many characters have no key on the host's layout and were skipped.
 */
guint        tsr_vnc_view_type_text           (TsrVncView   *self,
                                               const char   *text);

/* The guest's whole screen at 1:1, NULL before the first frame. */
GdkTexture  *tsr_vnc_view_get_frame           (TsrVncView   *self);

/* How many snapshots drew new guest pixels. */
guint64      tsr_vnc_view_get_frames_drawn    (TsrVncView   *self);

G_END_DECLS
