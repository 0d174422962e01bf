/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
#include <gvnc.h>
G_GNUC_END_IGNORE_DEPRECATIONS

#include "tsr-keymap.h"
#include "tsr-vnc-view.h"

/* The widget owns the framebuffer VncConnection decodes into: 32-bit
 * pixels, blue in the low byte, which is GDK's B8G8R8A8 once the padding
 * byte is made opaque. The screen is drawn as tiles, each a texture that is
 * made again only when the guest changed pixels in it, under one transform
 * (letterboxed fit, or one guest pixel per device pixel).
 */

#define TILE_SIZE 128
#define N_KEYS (KEY_MAX + 1)

struct _TsrVncView
{
  GtkWidget parent_instance;

  VncConnection *conn;
  gboolean connected;
  char *error;

  guint8 *pixels;
  int width;
  int height;
  VncBaseFramebuffer *fb;

  GdkTexture **tiles;
  int tiles_x;
  int tiles_y;
  gboolean have_frame;
  guint request_idle;
  guint64 frames_drawn;

  TsrVncScale scale;

  gboolean grabbed;
  gboolean release_pending;
  guint key_down[N_KEYS];

  double pointer_x;
  double pointer_y;
  guint8 buttons;
  GdkCursor *remote_cursor;
  GdkCursor *blank_cursor;
};

G_DEFINE_FINAL_TYPE (TsrVncView, tsr_vnc_view, GTK_TYPE_WIDGET)
G_DEFINE_ENUM_TYPE (TsrVncScale, tsr_vnc_scale,
                    G_DEFINE_ENUM_VALUE (TSR_VNC_SCALE_FIT, "fit"),
                    G_DEFINE_ENUM_VALUE (TSR_VNC_SCALE_ONE_TO_ONE, "one-to-one"))

enum
{
  PROP_0,
  PROP_CONNECTED,
  PROP_GUEST_WIDTH,
  PROP_GUEST_HEIGHT,
  PROP_SCALE,
  PROP_KEYBOARD_GRABBED,
  N_PROPS
};

enum
{
  DISCONNECTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const VncPixelFormat local_format = {
  .bits_per_pixel = 32,
  .depth = 24,
  .byte_order = G_LITTLE_ENDIAN,
  .true_color_flag = 1,
  .red_max = 255,
  .green_max = 255,
  .blue_max = 255,
  .red_shift = 16,
  .green_shift = 8,
  .blue_shift = 0,
};

/* Preferred first; lossless only, so that 1:1 is the guest's own pixels. */
static gint32 encodings[] = {
  VNC_CONNECTION_ENCODING_EXT_KEY_EVENT,
  VNC_CONNECTION_ENCODING_EXTENDED_DESKTOP_RESIZE,
  VNC_CONNECTION_ENCODING_DESKTOP_RESIZE,
  VNC_CONNECTION_ENCODING_LAST_RECT,
  VNC_CONNECTION_ENCODING_WMVi,
  VNC_CONNECTION_ENCODING_ALPHA_CURSOR,
  VNC_CONNECTION_ENCODING_RICH_CURSOR,
  VNC_CONNECTION_ENCODING_XCURSOR,
  VNC_CONNECTION_ENCODING_POINTER_CHANGE,
  VNC_CONNECTION_ENCODING_LED_STATE,
  VNC_CONNECTION_ENCODING_ZRLE,
  VNC_CONNECTION_ENCODING_HEXTILE,
  VNC_CONNECTION_ENCODING_RRE,
  VNC_CONNECTION_ENCODING_COPY_RECT,
  VNC_CONNECTION_ENCODING_RAW,
};

static void tsr_vnc_view_release_keys (TsrVncView *self);

/* Framebuffer and tiles */

static void
tsr_vnc_view_clear_tiles (TsrVncView *self)
{
  for (int i = 0; i < self->tiles_x * self->tiles_y; i++)
    g_clear_object (&self->tiles[i]);
  g_clear_pointer (&self->tiles, g_free);
  self->tiles_x = self->tiles_y = 0;
}

static void
tsr_vnc_view_allocate_framebuffer (TsrVncView *self,
                                   int         width,
                                   int         height)
{
  gboolean width_changed = width != self->width;
  gboolean height_changed = height != self->height;

  tsr_vnc_view_clear_tiles (self);
  g_clear_object (&self->fb);
  g_clear_pointer (&self->pixels, g_free);

  self->width = width;
  self->height = height;
  self->pixels = g_malloc0_n ((gsize) width * height, 4);
  self->fb = vnc_base_framebuffer_new (self->pixels, width, height, width * 4,
                                       &local_format, &local_format);
  self->tiles_x = (width + TILE_SIZE - 1) / TILE_SIZE;
  self->tiles_y = (height + TILE_SIZE - 1) / TILE_SIZE;
  self->tiles = g_new0 (GdkTexture *, self->tiles_x * self->tiles_y);
  self->have_frame = FALSE;

  if (width_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GUEST_WIDTH]);
  if (height_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GUEST_HEIGHT]);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

/* A copy of the rectangle with the padding byte made opaque: the server
 * leaves it at zero, which GDK would take as transparent.
 */
static GdkTexture *
tsr_vnc_view_copy_rect (TsrVncView *self,
                        int         x,
                        int         y,
                        int         width,
                        int         height)
{
  g_autoptr(GBytes) bytes = NULL;
  guint8 *copy = g_malloc_n ((gsize) width * height, 4);

  for (int row = 0; row < height; row++)
    {
      guint8 *dst = copy + (gsize) row * width * 4;

      memcpy (dst, self->pixels + ((gsize) (y + row) * self->width + x) * 4, (gsize) width * 4);
      for (int col = 0; col < width; col++)
        dst[col * 4 + 3] = 0xff;
    }

  bytes = g_bytes_new_take (copy, (gsize) width * height * 4);
  return gdk_memory_texture_new (width, height, GDK_MEMORY_B8G8R8A8, bytes, width * 4);
}

static GdkTexture *
tsr_vnc_view_ensure_tile (TsrVncView *self,
                          int         tx,
                          int         ty,
                          gboolean   *made)
{
  GdkTexture **tile = &self->tiles[ty * self->tiles_x + tx];

  if (*tile == NULL)
    {
      int x = tx * TILE_SIZE;
      int y = ty * TILE_SIZE;

      *tile = tsr_vnc_view_copy_rect (self, x, y,
                                      MIN (TILE_SIZE, self->width - x),
                                      MIN (TILE_SIZE, self->height - y));
      *made = TRUE;
    }
  return *tile;
}

/* Layout: where the guest's screen goes in widget coordinates */

typedef struct
{
  double x;
  double y;
  double scale;
} Placement;

static gboolean
tsr_vnc_view_place (TsrVncView *self,
                    Placement  *place)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int factor = gtk_widget_get_scale_factor (widget);
  double w = gtk_widget_get_width (widget);
  double h = gtk_widget_get_height (widget);

  if (self->width <= 0 || self->height <= 0 || w <= 0 || h <= 0)
    return FALSE;

  if (self->scale == TSR_VNC_SCALE_FIT)
    place->scale = MIN (w / self->width, h / self->height);
  else
    place->scale = 1.0 / factor;

  /* At 1:1 the origin sits on a device pixel, so that no pixel is blended
   * with its neighbour; a screen larger than the widget shows its top left.
   */
  place->x = MAX (0, floor ((w - self->width * place->scale) / 2 * factor) / factor);
  place->y = MAX (0, floor ((h - self->height * place->scale) / 2 * factor) / factor);
  return TRUE;
}

static gboolean
tsr_vnc_view_to_guest (TsrVncView *self,
                       double      x,
                       double      y,
                       guint16    *guest_x,
                       guint16    *guest_y)
{
  Placement place;
  double gx, gy;

  if (!tsr_vnc_view_place (self, &place))
    return FALSE;

  gx = (x - place.x) / place.scale;
  gy = (y - place.y) / place.scale;
  *guest_x = (guint16) CLAMP (gx, 0, self->width - 1);
  *guest_y = (guint16) CLAMP (gy, 0, self->height - 1);
  return gx >= 0 && gy >= 0 && gx < self->width && gy < self->height;
}

/* Drawing */

static void
tsr_vnc_view_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  TsrVncView *self = TSR_VNC_VIEW (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  gboolean made = FALSE;
  Placement place;

  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0, 0, 0, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (!self->have_frame || !tsr_vnc_view_place (self, &place))
    return;

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (place.x, place.y));
  gtk_snapshot_scale (snapshot, place.scale, place.scale);
  for (int ty = 0; ty < self->tiles_y; ty++)
    for (int tx = 0; tx < self->tiles_x; tx++)
      {
        GdkTexture *tile = tsr_vnc_view_ensure_tile (self, tx, ty, &made);

        gtk_snapshot_append_texture (snapshot, tile,
                                     &GRAPHENE_RECT_INIT (tx * TILE_SIZE, ty * TILE_SIZE,
                                                          gdk_texture_get_width (tile),
                                                          gdk_texture_get_height (tile)));
      }

  /* A console no longer connected shows its last frame dimmed. */
  if (!self->connected)
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0, 0, 0, 0.5 },
                               &GRAPHENE_RECT_INIT (0, 0, self->width, self->height));
  gtk_snapshot_restore (snapshot);
  gtk_snapshot_pop (snapshot);

  if (made)
    self->frames_drawn++;
}

static void
tsr_vnc_view_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  TsrVncView *self = TSR_VNC_VIEW (widget);
  int factor = gtk_widget_get_scale_factor (widget);
  int guest = orientation == GTK_ORIENTATION_HORIZONTAL ? self->width : self->height;

  /* The natural size is the guest's screen at 1:1, so that a window can
   * fit itself to the guest; the widget can shrink to anything in both
   * modes (fit scales down, 1:1 clips).
   */
  *minimum = 64;
  *natural = MAX (*minimum, (guest + factor - 1) / factor);
}

/* Connection */

static void
tsr_vnc_view_set_connected (TsrVncView *self,
                            gboolean    connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
tsr_vnc_view_request_update (TsrVncView *self,
                             gboolean    incremental)
{
  vnc_connection_framebuffer_update_request (self->conn, incremental, 0, 0,
                                             self->width, self->height);
}

static void
tsr_vnc_view_initialized_cb (TsrVncView    *self,
                             VncConnection *conn)
{
  if (!vnc_connection_set_pixel_format (conn, &local_format)
      || !vnc_connection_set_encodings (conn, G_N_ELEMENTS (encodings), encodings))
    {
      vnc_connection_shutdown (conn);
      return;
    }

  tsr_vnc_view_allocate_framebuffer (self, vnc_connection_get_width (conn),
                                     vnc_connection_get_height (conn));
  vnc_connection_set_framebuffer (conn, VNC_FRAMEBUFFER (self->fb));
  tsr_vnc_view_request_update (self, FALSE);
  tsr_vnc_view_set_connected (self, TRUE);
}

static void
tsr_vnc_view_request_idle_cb (gpointer user_data)
{
  TsrVncView *self = user_data;

  self->request_idle = 0;
  if (self->conn != NULL)
    tsr_vnc_view_request_update (self, TRUE);
}

static void
tsr_vnc_view_framebuffer_update_cb (TsrVncView    *self,
                                    int            x,
                                    int            y,
                                    int            width,
                                    int            height,
                                    VncConnection *conn)
{
  int tx0 = x / TILE_SIZE;
  int ty0 = y / TILE_SIZE;
  int tx1 = MIN (self->tiles_x - 1, (x + width - 1) / TILE_SIZE);
  int ty1 = MIN (self->tiles_y - 1, (y + height - 1) / TILE_SIZE);

  if (width <= 0 || height <= 0)
    return;

  for (int ty = ty0; ty <= ty1; ty++)
    for (int tx = tx0; tx <= tx1; tx++)
      g_clear_object (&self->tiles[ty * self->tiles_x + tx]);

  self->have_frame = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));

  /* One request for the next changes once this update's rectangles are
   * in: the server answers it when the guest draws again.
   */
  if (self->request_idle == 0)
    self->request_idle = g_idle_add_once (tsr_vnc_view_request_idle_cb, self);
}

static void
tsr_vnc_view_desktop_resize_cb (TsrVncView    *self,
                                int            width,
                                int            height,
                                VncConnection *conn)
{
  tsr_vnc_view_allocate_framebuffer (self, width, height);
  vnc_connection_set_framebuffer (conn, VNC_FRAMEBUFFER (self->fb));
  tsr_vnc_view_request_update (self, FALSE);
}

static void
tsr_vnc_view_update_cursor (TsrVncView *self,
                            gboolean    over_guest)
{
  GdkCursor *cursor = NULL;

  /* The guest draws its pointer itself unless it gave one to show here, so
   * the host's arrow is hidden over the guest's screen.
   */
  if (over_guest && self->connected)
    cursor = self->remote_cursor ? self->remote_cursor : self->blank_cursor;
  if (gtk_widget_get_cursor (GTK_WIDGET (self)) != cursor)
    gtk_widget_set_cursor (GTK_WIDGET (self), cursor);
}

static void
tsr_vnc_view_cursor_changed_cb (TsrVncView    *self,
                                VncCursor     *cursor,
                                VncConnection *conn)
{
  g_clear_object (&self->remote_cursor);

  if (cursor != NULL && vnc_cursor_get_width (cursor) > 0 && vnc_cursor_get_height (cursor) > 0)
    {
      int w = vnc_cursor_get_width (cursor);
      int h = vnc_cursor_get_height (cursor);
      g_autoptr(GBytes) bytes = g_bytes_new (vnc_cursor_get_data (cursor), (gsize) w * h * 4);
      g_autoptr(GdkTexture) texture = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes, w * 4);

      self->remote_cursor = gdk_cursor_new_from_texture (texture,
                                                         vnc_cursor_get_hotx (cursor),
                                                         vnc_cursor_get_hoty (cursor),
                                                         NULL);
    }

  if (gtk_widget_get_cursor (GTK_WIDGET (self)) != NULL)
    tsr_vnc_view_update_cursor (self, TRUE);
}

static void
tsr_vnc_view_error_cb (TsrVncView    *self,
                       const char    *message,
                       VncConnection *conn)
{
  if (self->error == NULL)
    self->error = g_strdup (message);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS

/* libvirt's FD and a local VNC socket need no authentication; anything
 * else is refused with a reason instead of waiting for a password.
 */
static void
tsr_vnc_view_auth_choose_type_cb (TsrVncView    *self,
                                  GValueArray   *types,
                                  VncConnection *conn)
{
  for (guint i = 0; i < types->n_values; i++)
    if (g_value_get_enum (g_value_array_get_nth (types, i)) == VNC_CONNECTION_AUTH_NONE)
      {
        vnc_connection_set_auth_type (conn, VNC_CONNECTION_AUTH_NONE);
        return;
      }

  tsr_vnc_view_error_cb (self, _("The console asks for a password, which Tessera does not support"), conn);
  vnc_connection_shutdown (conn);
}

static void
tsr_vnc_view_auth_credential_cb (TsrVncView    *self,
                                 GValueArray   *credentials,
                                 VncConnection *conn)
{
  tsr_vnc_view_error_cb (self, _("The console asks for a password, which Tessera does not support"), conn);
  vnc_connection_shutdown (conn);
}

G_GNUC_END_IGNORE_DEPRECATIONS

static void
tsr_vnc_view_auth_failure_cb (TsrVncView    *self,
                              const char    *reason,
                              VncConnection *conn)
{
  tsr_vnc_view_error_cb (self, reason ? reason : _("Authentication failed"), conn);
}

static void
tsr_vnc_view_connection_ended_cb (VncConnection *conn,
                                  gpointer       user_data)
{
  g_signal_handlers_disconnect_by_func (conn, tsr_vnc_view_connection_ended_cb, user_data);
  g_idle_add_once ((GSourceOnceFunc) g_object_unref, conn);
}

/* Lets go of CONN: it is kept until it finished shutting down, which
 * happens on the main loop after this returns.
 */
static void
tsr_vnc_view_drop_connection (TsrVncView *self)
{
  VncConnection *conn = g_steal_pointer (&self->conn);

  if (conn == NULL)
    return;

  tsr_vnc_view_release_keys (self);
  g_clear_handle_id (&self->request_idle, g_source_remove);
  g_signal_handlers_disconnect_by_data (conn, self);
  if (vnc_connection_is_open (conn))
    {
      g_signal_connect (conn, "vnc-disconnected",
                        G_CALLBACK (tsr_vnc_view_connection_ended_cb), NULL);
      vnc_connection_shutdown (conn);
    }
  else
    g_idle_add_once ((GSourceOnceFunc) g_object_unref, conn);
}

static void
tsr_vnc_view_finish (TsrVncView *self,
                     gboolean    emit)
{
  g_autofree char *reason = g_steal_pointer (&self->error);
  gboolean was_open = self->conn != NULL;

  tsr_vnc_view_release_keyboard (self);
  tsr_vnc_view_drop_connection (self);
  self->buttons = 0;
  tsr_vnc_view_set_connected (self, FALSE);
  tsr_vnc_view_update_cursor (self, FALSE);
  if (was_open && emit)
    g_signal_emit (self, signals[DISCONNECTED], 0, reason);
}

static void
tsr_vnc_view_disconnected_cb (TsrVncView    *self,
                              VncConnection *conn)
{
  tsr_vnc_view_finish (self, TRUE);
}

void
tsr_vnc_view_open_fd (TsrVncView *self,
                      int         fd)
{
  g_return_if_fail (TSR_IS_VNC_VIEW (self));
  g_return_if_fail (fd >= 0);

  tsr_vnc_view_close (self);
  g_clear_pointer (&self->error, g_free);

  self->conn = vnc_connection_new ();
  g_signal_connect_swapped (self->conn, "vnc-initialized", G_CALLBACK (tsr_vnc_view_initialized_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-framebuffer-update", G_CALLBACK (tsr_vnc_view_framebuffer_update_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-desktop-resize", G_CALLBACK (tsr_vnc_view_desktop_resize_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-cursor-changed", G_CALLBACK (tsr_vnc_view_cursor_changed_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-error", G_CALLBACK (tsr_vnc_view_error_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-auth-choose-type", G_CALLBACK (tsr_vnc_view_auth_choose_type_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-auth-credential", G_CALLBACK (tsr_vnc_view_auth_credential_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-auth-failure", G_CALLBACK (tsr_vnc_view_auth_failure_cb), self);
  g_signal_connect_swapped (self->conn, "vnc-disconnected", G_CALLBACK (tsr_vnc_view_disconnected_cb), self);

  vnc_connection_set_shared (self->conn, TRUE);
  if (!vnc_connection_open_fd (self->conn, fd))
    {
      close (fd);
      tsr_vnc_view_error_cb (self, _("Could not open the console connection"), self->conn);
      tsr_vnc_view_finish (self, TRUE);
    }
}

void
tsr_vnc_view_close (TsrVncView *self)
{
  g_return_if_fail (TSR_IS_VNC_VIEW (self));

  tsr_vnc_view_finish (self, TRUE);
}

/* Keyboard */

static gboolean
tsr_vnc_view_can_send (TsrVncView *self)
{
  return self->conn != NULL && self->connected;
}

static void
tsr_vnc_view_send_key (TsrVncView *self,
                       gboolean    down,
                       guint       keyval,
                       guint       evdev)
{
  guint16 scancode = 0;

  if (!tsr_vnc_view_can_send (self) || evdev >= N_KEYS)
    return;

  if (vnc_connection_get_ext_key_event (self->conn))
    scancode = tsr_keymap_evdev_to_qnum (evdev);
  vnc_connection_key_event (self->conn, down, keyval, scancode);
  self->key_down[evdev] = down ? keyval : 0;
}

static void
tsr_vnc_view_release_keys (TsrVncView *self)
{
  for (guint evdev = 0; evdev < N_KEYS; evdev++)
    if (self->key_down[evdev] != 0)
      tsr_vnc_view_send_key (self, FALSE, self->key_down[evdev], evdev);
  memset (self->key_down, 0, sizeof self->key_down);
  self->release_pending = FALSE;
}

static gboolean
is_ctrl (guint evdev)
{
  return evdev == KEY_LEFTCTRL || evdev == KEY_RIGHTCTRL;
}

static gboolean
is_alt (guint evdev)
{
  return evdev == KEY_LEFTALT || evdev == KEY_RIGHTALT;
}

/* The release hotkey is Ctrl and Alt pressed together with nothing else. */
static gboolean
tsr_vnc_view_only_hotkey_down (TsrVncView *self)
{
  gboolean ctrl = FALSE, alt = FALSE;

  for (guint evdev = 0; evdev < N_KEYS; evdev++)
    {
      if (self->key_down[evdev] == 0)
        continue;
      if (is_ctrl (evdev))
        ctrl = TRUE;
      else if (is_alt (evdev))
        alt = TRUE;
      else
        return FALSE;
    }
  return ctrl && alt;
}

static gboolean
tsr_vnc_view_key_pressed_cb (TsrVncView            *self,
                             guint                  keyval,
                             guint                  keycode,
                             GdkModifierType        state,
                             GtkEventControllerKey *controller)
{
  guint evdev = tsr_keymap_keycode_to_evdev (keycode);

  if (!tsr_vnc_view_can_send (self))
    return FALSE;

  tsr_vnc_view_send_key (self, TRUE, keyval, evdev);
  self->release_pending = self->grabbed && tsr_vnc_view_only_hotkey_down (self);
  return TRUE;
}

static void
tsr_vnc_view_key_released_cb (TsrVncView            *self,
                              guint                  keyval,
                              guint                  keycode,
                              GdkModifierType        state,
                              GtkEventControllerKey *controller)
{
  guint evdev = tsr_keymap_keycode_to_evdev (keycode);

  if (evdev >= N_KEYS || self->key_down[evdev] == 0)
    return;

  /* The guest gets the releases of both hotkey keys now, so that the one
   * still held is not stuck down there while the host has it.
   */
  if (self->release_pending && (is_ctrl (evdev) || is_alt (evdev)))
    {
      tsr_vnc_view_release_keys (self);
      tsr_vnc_view_release_keyboard (self);
      return;
    }

  tsr_vnc_view_send_key (self, FALSE, self->key_down[evdev], evdev);
}

static void
tsr_vnc_view_focus_leave_cb (TsrVncView *self)
{
  tsr_vnc_view_release_keys (self);
  tsr_vnc_view_release_keyboard (self);
}

static guint
keyval_of_evdev (TsrVncView *self,
                 guint       evdev)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  g_autofree GdkKeymapKey *keys = NULL;
  g_autofree guint *keyvals = NULL;
  int n = 0;

  if (!gdk_display_map_keycode (display, tsr_keymap_evdev_to_keycode (evdev), &keys, &keyvals, &n))
    return GDK_KEY_VoidSymbol;
  for (int i = 0; i < n; i++)
    if (keys[i].group == 0 && keys[i].level == 0)
      return keyvals[i];
  return keyvals[0];
}

void
tsr_vnc_view_send_keys (TsrVncView  *self,
                        const guint *evdev_codes,
                        gsize        n)
{
  g_return_if_fail (TSR_IS_VNC_VIEW (self));
  g_return_if_fail (evdev_codes != NULL || n == 0);

  for (gsize i = 0; i < n; i++)
    tsr_vnc_view_send_key (self, TRUE, keyval_of_evdev (self, evdev_codes[i]), evdev_codes[i]);
  for (gsize i = n; i > 0; i--)
    tsr_vnc_view_send_key (self, FALSE, keyval_of_evdev (self, evdev_codes[i - 1]), evdev_codes[i - 1]);
}

static gboolean
tsr_vnc_view_type_char (TsrVncView *self,
                        gunichar    c)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  g_autofree GdkKeymapKey *keys = NULL;
  const GdkKeymapKey *key = NULL;
  guint keyval;
  guint evdev;
  int n = 0;

  if (c == '\n' || c == '\r')
    keyval = GDK_KEY_Return;
  else if (c == '\t')
    keyval = GDK_KEY_Tab;
  else
    keyval = gdk_unicode_to_keyval (c);

  /* Levels 0 and 1 (Shift) of the first group only: AltGr and other
   * groups depend on how the guest's layout treats them.
   */
  if (!gdk_display_map_keyval (display, keyval, &keys, &n))
    return FALSE;
  for (int i = 0; i < n && key == NULL; i++)
    if (keys[i].group == 0 && keys[i].level <= 1)
      key = &keys[i];
  if (key == NULL)
    return FALSE;

  evdev = tsr_keymap_keycode_to_evdev (key->keycode);
  if (key->level == 1)
    tsr_vnc_view_send_key (self, TRUE, GDK_KEY_Shift_L, KEY_LEFTSHIFT);
  tsr_vnc_view_send_key (self, TRUE, keyval, evdev);
  tsr_vnc_view_send_key (self, FALSE, keyval, evdev);
  if (key->level == 1)
    tsr_vnc_view_send_key (self, FALSE, GDK_KEY_Shift_L, KEY_LEFTSHIFT);
  return TRUE;
}

guint
tsr_vnc_view_type_text (TsrVncView *self,
                        const char *text)
{
  guint skipped = 0;

  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), 0);
  g_return_val_if_fail (text != NULL, 0);

  if (!g_utf8_validate (text, -1, NULL))
    return g_utf8_strlen (text, -1);

  /* Keys the user holds would change what the typed keys mean. */
  tsr_vnc_view_release_keys (self);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (!tsr_vnc_view_type_char (self, g_utf8_get_char (p)))
      skipped++;

  if (skipped > 0)
    g_debug ("Typed text: %u characters have no key and were skipped", skipped);
  return skipped;
}

/* Keyboard grab */

void
tsr_vnc_view_grab_keyboard (TsrVncView *self)
{
  GtkNative *native;
  GdkSurface *surface;

  g_return_if_fail (TSR_IS_VNC_VIEW (self));

  native = gtk_widget_get_native (GTK_WIDGET (self));
  surface = native ? gtk_native_get_surface (native) : NULL;
  if (self->grabbed || !self->connected || !GDK_IS_TOPLEVEL (surface))
    return;

  gdk_toplevel_inhibit_system_shortcuts (GDK_TOPLEVEL (surface), NULL);
  self->grabbed = TRUE;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEYBOARD_GRABBED]);
}

void
tsr_vnc_view_release_keyboard (TsrVncView *self)
{
  GtkNative *native;
  GdkSurface *surface;

  g_return_if_fail (TSR_IS_VNC_VIEW (self));

  if (!self->grabbed)
    return;

  native = gtk_widget_get_native (GTK_WIDGET (self));
  surface = native ? gtk_native_get_surface (native) : NULL;
  if (GDK_IS_TOPLEVEL (surface))
    gdk_toplevel_restore_system_shortcuts (GDK_TOPLEVEL (surface));
  self->grabbed = FALSE;
  self->release_pending = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEYBOARD_GRABBED]);
}

gboolean
tsr_vnc_view_get_keyboard_grabbed (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), FALSE);

  return self->grabbed;
}

const char *
tsr_vnc_view_get_grab_hint (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), NULL);

  return _("Ctrl+Alt");
}

/* Pointer */

static void
tsr_vnc_view_send_pointer (TsrVncView *self,
                           guint8      buttons)
{
  guint16 gx, gy;
  gboolean inside;

  if (!tsr_vnc_view_can_send (self))
    return;

  inside = tsr_vnc_view_to_guest (self, self->pointer_x, self->pointer_y, &gx, &gy);
  tsr_vnc_view_update_cursor (self, inside);
  vnc_connection_pointer_event (self->conn, buttons, gx, gy);
}

static void
tsr_vnc_view_motion_cb (TsrVncView *self,
                        double      x,
                        double      y)
{
  self->pointer_x = x;
  self->pointer_y = y;
  tsr_vnc_view_send_pointer (self, self->buttons);
}

static void
tsr_vnc_view_leave_cb (TsrVncView *self)
{
  tsr_vnc_view_update_cursor (self, FALSE);
}

/* GDK numbers buttons 1 left, 2 middle, 3 right like RFB's mask bits 0-2;
 * 8 and 9 (back, forward) have no place in RFB's mask.
 */
static guint8
button_bit (guint button)
{
  return button >= 1 && button <= 3 ? 1 << (button - 1) : 0;
}

static gboolean
tsr_vnc_view_button_event_cb (TsrVncView               *self,
                              GdkEvent                 *event,
                              GtkEventControllerLegacy *controller)
{
  GdkEventType type = gdk_event_get_event_type (event);
  GtkWidget *widget = GTK_WIDGET (self);
  GtkNative *native = gtk_widget_get_native (widget);
  double x, y, nx, ny;
  guint8 bit;

  if (type != GDK_BUTTON_PRESS && type != GDK_BUTTON_RELEASE)
    return FALSE;
  if (!tsr_vnc_view_can_send (self))
    return FALSE;

  /* A button can come without a motion before it (the pointer entered
   * while another widget had a grab), so the position is the event's.
   */
  if (gdk_event_get_position (event, &x, &y))
    {
      gtk_native_get_surface_transform (native, &nx, &ny);
      gtk_widget_translate_coordinates (GTK_WIDGET (native), widget, x - nx, y - ny,
                                        &self->pointer_x, &self->pointer_y);
    }

  bit = button_bit (gdk_button_event_get_button (event));
  if (type == GDK_BUTTON_PRESS)
    {
      guint16 gx, gy;

      gtk_widget_grab_focus (widget);
      if (tsr_vnc_view_to_guest (self, self->pointer_x, self->pointer_y, &gx, &gy))
        tsr_vnc_view_grab_keyboard (self);
      self->buttons |= bit;
    }
  else
    self->buttons &= ~bit;

  tsr_vnc_view_send_pointer (self, self->buttons);
  return TRUE;
}

static void
tsr_vnc_view_wheel (TsrVncView *self,
                    double      steps,
                    guint8      negative_bit,
                    guint8      positive_bit)
{
  guint8 bit = steps < 0 ? negative_bit : positive_bit;

  for (int i = 0; i < (int) fabs (steps); i++)
    {
      tsr_vnc_view_send_pointer (self, self->buttons | bit);
      tsr_vnc_view_send_pointer (self, self->buttons);
    }
}

static gboolean
tsr_vnc_view_scroll_cb (TsrVncView *self,
                        double      dx,
                        double      dy)
{
  if (!tsr_vnc_view_can_send (self))
    return FALSE;

  /* RFB's wheel is buttons 4 and 5 (up, down), 6 and 7 (left, right). */
  tsr_vnc_view_wheel (self, dy, 1 << 3, 1 << 4);
  tsr_vnc_view_wheel (self, dx, 1 << 5, 1 << 6);
  return TRUE;
}

/* Frames */

GdkTexture *
tsr_vnc_view_get_frame (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), NULL);

  if (!self->have_frame)
    return NULL;
  return tsr_vnc_view_copy_rect (self, 0, 0, self->width, self->height);
}

guint64
tsr_vnc_view_get_frames_drawn (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), 0);

  return self->frames_drawn;
}

/* Properties */

gboolean
tsr_vnc_view_get_connected (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), FALSE);

  return self->connected;
}

int
tsr_vnc_view_get_guest_width (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), 0);

  return self->width;
}

int
tsr_vnc_view_get_guest_height (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), 0);

  return self->height;
}

void
tsr_vnc_view_set_scale (TsrVncView  *self,
                        TsrVncScale  scale)
{
  g_return_if_fail (TSR_IS_VNC_VIEW (self));

  if (self->scale == scale)
    return;
  self->scale = scale;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE]);
}

TsrVncScale
tsr_vnc_view_get_scale (TsrVncView *self)
{
  g_return_val_if_fail (TSR_IS_VNC_VIEW (self), TSR_VNC_SCALE_FIT);

  return self->scale;
}

static void
tsr_vnc_view_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TsrVncView *self = TSR_VNC_VIEW (object);

  switch (prop_id)
    {
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    case PROP_GUEST_WIDTH:
      g_value_set_int (value, self->width);
      break;
    case PROP_GUEST_HEIGHT:
      g_value_set_int (value, self->height);
      break;
    case PROP_SCALE:
      g_value_set_enum (value, self->scale);
      break;
    case PROP_KEYBOARD_GRABBED:
      g_value_set_boolean (value, self->grabbed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_vnc_view_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TsrVncView *self = TSR_VNC_VIEW (object);

  switch (prop_id)
    {
    case PROP_SCALE:
      tsr_vnc_view_set_scale (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_vnc_view_unrealize (GtkWidget *widget)
{
  tsr_vnc_view_release_keyboard (TSR_VNC_VIEW (widget));

  GTK_WIDGET_CLASS (tsr_vnc_view_parent_class)->unrealize (widget);
}

static void
tsr_vnc_view_dispose (GObject *object)
{
  TsrVncView *self = TSR_VNC_VIEW (object);

  tsr_vnc_view_finish (self, FALSE);

  G_OBJECT_CLASS (tsr_vnc_view_parent_class)->dispose (object);
}

static void
tsr_vnc_view_finalize (GObject *object)
{
  TsrVncView *self = TSR_VNC_VIEW (object);

  tsr_vnc_view_clear_tiles (self);
  g_clear_object (&self->fb);
  g_clear_pointer (&self->pixels, g_free);
  g_clear_object (&self->remote_cursor);
  g_clear_object (&self->blank_cursor);
  g_free (self->error);

  G_OBJECT_CLASS (tsr_vnc_view_parent_class)->finalize (object);
}

static void
tsr_vnc_view_class_init (TsrVncViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = tsr_vnc_view_get_property;
  object_class->set_property = tsr_vnc_view_set_property;
  object_class->dispose = tsr_vnc_view_dispose;
  object_class->finalize = tsr_vnc_view_finalize;
  widget_class->snapshot = tsr_vnc_view_snapshot;
  widget_class->measure = tsr_vnc_view_measure;
  widget_class->unrealize = tsr_vnc_view_unrealize;

  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_GUEST_WIDTH] =
    g_param_spec_int ("guest-width", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_GUEST_HEIGHT] =
    g_param_spec_int ("guest-height", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCALE] =
    g_param_spec_enum ("scale", NULL, NULL, TSR_TYPE_VNC_SCALE, TSR_VNC_SCALE_FIT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KEYBOARD_GRABBED] =
    g_param_spec_boolean ("keyboard-grabbed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Once per connection that was open, with a reason when it failed. */
  signals[DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_css_name (widget_class, "tsr-vnc-view");
}

static void
tsr_vnc_view_init (TsrVncView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  self->blank_cursor = gdk_cursor_new_from_name ("none", NULL);

  controller = gtk_event_controller_key_new ();
  g_signal_connect_swapped (controller, "key-pressed", G_CALLBACK (tsr_vnc_view_key_pressed_cb), self);
  g_signal_connect_swapped (controller, "key-released", G_CALLBACK (tsr_vnc_view_key_released_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (tsr_vnc_view_focus_leave_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect_swapped (controller, "enter", G_CALLBACK (tsr_vnc_view_motion_cb), self);
  g_signal_connect_swapped (controller, "motion", G_CALLBACK (tsr_vnc_view_motion_cb), self);
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (tsr_vnc_view_leave_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_legacy_new ();
  g_signal_connect_swapped (controller, "event", G_CALLBACK (tsr_vnc_view_button_event_cb), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES
                                                | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect_swapped (controller, "scroll", G_CALLBACK (tsr_vnc_view_scroll_cb), self);
  gtk_widget_add_controller (widget, controller);
}

GtkWidget *
tsr_vnc_view_new (void)
{
  return g_object_new (TSR_TYPE_VNC_VIEW, NULL);
}
