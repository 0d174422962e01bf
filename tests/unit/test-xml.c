/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libvirt's XML read and written through libxml2 and libvirt-gconfig: the
 * builder and reader helpers, the readers of pools, volumes, domain
 * capabilities and MACs, and names and paths with <, &, quotes and
 * non-ASCII that go through libvirt's test driver and come back unchanged.
 */
#include "config.h"

#include <libvirt/libvirt.h>

#include "tsr-cloner.h"
#include "tsr-connection-private.h"
#include "tsr-host.h"
#include "tsr-libvirt-private.h"
#include "tsr-macs.h"
#include "tsr-network.h"
#include "tsr-settings-private.h"
#include "tsr-storage-private.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 20)

#define ODD_TEXT "a&b;c<d>\"e'f ü &amp;"
#define ODD_DIR  "/tmp/a&b<\"'ü"
#define ODD_VM   "vm-ü&<'\""

/* The builder and the reader */

static void
test_builder_round_trip (void)
{
  g_autoptr(xmlDoc) doc = tsr_xml_new ("volume");
  g_autoptr(xmlDoc) back = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *format = NULL;
  g_autofree char *missing = NULL;
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr target;

  tsr_xml_add (root, "name", ODD_TEXT);
  target = tsr_xml_add (root, "target", NULL);
  tsr_xml_add (target, "path", ODD_DIR "/disk");
  tsr_xml_add_with (target, "format", "type", "qcow2", "note", ODD_TEXT, NULL);
  tsr_xml_set (root, "type", ODD_TEXT);

  xml = tsr_xml_dump (doc);
  g_assert_true (g_str_has_prefix (xml, "<volume"));
  g_assert_true (g_utf8_validate (xml, -1, NULL));

  back = tsr_xml_parse (xml);
  g_assert_nonnull (back);
  root = xmlDocGetRootElement (back);
  name = tsr_xml_text (tsr_xml_find (root, "name"));
  path = tsr_xml_text (tsr_xml_find (root, "target/path"));
  format = tsr_xml_find_prop (root, "target/format", "type");
  g_assert_cmpstr (name, ==, ODD_TEXT);
  g_assert_cmpstr (path, ==, ODD_DIR "/disk");
  g_assert_cmpstr (format, ==, "qcow2");
  {
    g_autofree char *note = tsr_xml_find_prop (root, "target/format", "note");
    g_autofree char *type = tsr_xml_prop (root, "type");

    g_assert_cmpstr (note, ==, ODD_TEXT);
    g_assert_cmpstr (type, ==, ODD_TEXT);
  }
  missing = tsr_xml_find_prop (root, "target/nothing", "type");
  g_assert_null (missing);
  g_assert_null (tsr_xml_find (root, "name/deeper"));
}

static void
test_set_text (void)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse ("<domain><name>old</name><uuid>1</uuid><uuid>2</uuid></domain>");
  g_autoptr(xmlDoc) back = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *name = NULL;
  xmlNodePtr root = xmlDocGetRootElement (doc);

  tsr_xml_set_text (tsr_xml_child (root, "name"), ODD_TEXT);
  tsr_xml_remove_children (root, "uuid");
  xml = tsr_xml_dump (doc);
  back = tsr_xml_parse (xml);
  root = xmlDocGetRootElement (back);
  name = tsr_xml_text (tsr_xml_child (root, "name"));
  g_assert_cmpstr (name, ==, ODD_TEXT);
  g_assert_null (tsr_xml_child (root, "uuid"));
}

static void
test_parse_invalid (void)
{
  g_assert_null (tsr_xml_parse (NULL));
  g_assert_null (tsr_xml_parse (""));
  g_assert_null (tsr_xml_parse ("<domain><name>x"));
  g_assert_null (tsr_xml_parse ("not xml at all"));
}

/* Tessera's own metadata: free text such as a default user must survive,
 * and another application's element of the same name is left alone.
 */
static void
test_metadata_text (void)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (
    "<domain><name>x</name><metadata>"
    "<other:vm xmlns:other='https://example.invalid/'><default_user>theirs</default_user></other:vm>"
    "</metadata></domain>");
  g_autoptr(xmlDoc) back = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *value = NULL;
  g_autofree char *theirs = NULL;
  xmlNodePtr vm;

  g_assert_null (tsr_settings_tessera_metadata (xmlDocGetRootElement (doc), FALSE));
  vm = tsr_settings_tessera_metadata (xmlDocGetRootElement (doc), TRUE);
  tsr_settings_metadata_set (vm, "default_user", ODD_TEXT);
  xml = tsr_xml_dump (doc);
  back = tsr_xml_parse (xml);
  vm = tsr_settings_tessera_metadata (xmlDocGetRootElement (back), FALSE);
  g_assert_nonnull (vm);
  g_assert_cmpstr ((const char *) vm->ns->href, ==, TSR_METADATA_NS);
  value = tsr_xml_text (tsr_xml_child (vm, "default_user"));
  g_assert_cmpstr (value, ==, ODD_TEXT);

  vm = tsr_xml_metadata (xmlDocGetRootElement (back), "https://example.invalid/", "other", "vm", FALSE);
  g_assert_nonnull (vm);
  theirs = tsr_xml_text (tsr_xml_child (vm, "default_user"));
  g_assert_cmpstr (theirs, ==, "theirs");
}

/* libvirt's documents */

static void
test_pool_holds_files (void)
{
  g_assert_true (tsr_xml_pool_holds_files ("<pool type='dir'><name>a</name></pool>"));
  g_assert_true (tsr_xml_pool_holds_files ("<pool type='fs'><name>a</name></pool>"));
  g_assert_true (tsr_xml_pool_holds_files ("<pool type='netfs'><name>a</name></pool>"));
  /* Written another way than libvirt does today, as XML allows. */
  g_assert_true (tsr_xml_pool_holds_files ("<?xml version='1.0'?>\n<pool\n  type=\"dir\"><name>a</name></pool>"));
  g_assert_false (tsr_xml_pool_holds_files ("<pool type='logical'><name>a</name></pool>"));
  /* Unknown to libvirt-gconfig 4.0: must not count as a directory. */
  g_assert_false (tsr_xml_pool_holds_files ("<pool type='rbd'><name>a</name></pool>"));
  g_assert_false (tsr_xml_pool_holds_files ("<pool><name>a</name></pool>"));
  g_assert_false (tsr_xml_pool_holds_files (NULL));
  g_assert_false (tsr_xml_pool_holds_files ("<pool type='dir'"));
}

static void
test_volume_format (void)
{
  const char *overlay =
    "<volume type='file'><name>o.qcow2</name>"
    "<target><path>/p/o.qcow2</path><format type=\"qcow2\"/></target>"
    "<backingStore><path>/p/base.img</path><format type='raw'/></backingStore></volume>";
  const char *raw =
    "<volume><name>r.img</name><target><format type='raw'/></target></volume>";
  g_autofree char *overlay_format = tsr_xml_volume_format (overlay);
  g_autofree char *raw_format = tsr_xml_volume_format (raw);
  g_autofree char *none = tsr_xml_volume_format ("<volume><name>n</name></volume>");

  g_assert_cmpstr (overlay_format, ==, "qcow2");
  g_assert_cmpstr (raw_format, ==, "raw");
  g_assert_null (none);
  g_assert_true (tsr_xml_volume_has_backing (overlay));
  g_assert_false (tsr_xml_volume_has_backing (raw));
  g_assert_false (tsr_xml_volume_has_backing (NULL));
}

static gboolean
domcaps_uefi (const char *domcaps)
{
  g_autoptr(TsrHostCaps) caps = tsr_host_caps_parse (NULL, domcaps, FALSE, 2);

  return caps->uefi;
}

static void
test_domcaps_uefi (void)
{
  /* libvirt ≥ 8 with firmware autoselection: the loader list may be empty. */
  g_assert_true (domcaps_uefi (
    "<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>kvm</domain>"
    "<os supported='yes'><enum name='firmware'><value>bios</value><value>efi</value></enum>"
    "<loader supported='yes'><enum name='type'><value>rom</value><value>pflash</value></enum>"
    "</loader></os></domainCapabilities>"));
  /* Older libvirt: only the loader files tell. */
  g_assert_true (domcaps_uefi (
    "<domainCapabilities><os supported='yes'><loader supported='yes'>"
    "<value>/usr/share/seabios/bios.bin</value>"
    "<value>/usr/share/edk2/ovmf/OVMF_CODE.fd</value></loader></os></domainCapabilities>"));
  g_assert_true (domcaps_uefi (
    "<domainCapabilities><os supported='yes'><loader supported='yes'>"
    "<value>/usr/share/qemu/ovmf-x86_64-code.bin</value></loader></os></domainCapabilities>"));
  /* No UEFI, though the text "OVMF" and "efi" appear elsewhere. */
  g_assert_false (domcaps_uefi (
    "<domainCapabilities><path>/opt/OVMF-less/qemu</path>"
    "<os supported='yes'><enum name='firmware'><value>bios</value></enum>"
    "<loader supported='yes'><value>/usr/share/seabios/bios.bin</value></loader></os>"
    "<devices><disk supported='yes'><enum name='bus'><value>efi</value></enum></disk></devices>"
    "</domainCapabilities>"));
  g_assert_false (domcaps_uefi ("<domainCapabilities/>"));
  g_assert_false (domcaps_uefi (NULL));
}

static void
test_macs_of_domain (void)
{
  const char *xml =
    "<domain type='test'><name>m</name>"
    "<description>&lt;mac address='52:54:00:99:99:99'/&gt;</description>"
    "<devices>"
    "<interface type='direct'><mac address='52:54:00:AA:BB:01'/><source dev='eth0' mode='bridge'/></interface>"
    "<interface type='network'><source network='x'/><mac address=\"52:54:00:aa:bb:02\"/></interface>"
    "<interface type='user'/>"
    "</devices></domain>";
  g_auto(GStrv) macs = tsr_macs_of_domain_xml (xml);
  g_auto(GStrv) none = tsr_macs_of_domain_xml ("<domain><name>n</name></domain>");
  g_auto(GStrv) broken = tsr_macs_of_domain_xml (NULL);

  g_assert_cmpuint (g_strv_length (macs), ==, 2);
  g_assert_cmpstr (macs[0], ==, "52:54:00:aa:bb:01");
  g_assert_cmpstr (macs[1], ==, "52:54:00:aa:bb:02");
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_cmpuint (g_strv_length (broken), ==, 0);
}

static void
test_network_xml (void)
{
  g_autofree char *managed = tsr_network_build_managed_xml ("net-ü&<'\"", "10.137.9", FALSE);
  g_autoptr(TsrNetworkInfo) info = tsr_network_info_new_from_xml (managed, NULL);
  g_autofree char *host = tsr_network_build_host_xml ("52:54:00:00:00:01", ODD_VM, "10.137.9.5");
  g_autofree char *anonymous = tsr_network_build_host_xml ("52:54:00:00:00:02", NULL, "10.137.9.6");
  g_autoptr(xmlDoc) host_doc = tsr_xml_parse (host);
  g_autoptr(xmlDoc) anonymous_doc = tsr_xml_parse (anonymous);
  xmlNodePtr root;

  g_assert_nonnull (info);
  g_assert_cmpstr (info->name, ==, "net-ü&<'\"");
  g_assert_cmpstr (info->forward_mode, ==, "nat");
  g_assert_cmpstr (info->gateway, ==, "10.137.9.1");
  g_assert_cmpstr (info->dhcp_start, ==, "10.137.9.2");

  /* A fragment for virNetworkUpdate(): no XML declaration. */
  g_assert_true (g_str_has_prefix (host, "<host "));
  g_assert_nonnull (host_doc);
  root = xmlDocGetRootElement (host_doc);
  {
    g_autofree char *mac = tsr_xml_prop (root, "mac");
    g_autofree char *name = tsr_xml_prop (root, "name");
    g_autofree char *ip = tsr_xml_prop (root, "ip");

    g_assert_cmpstr (mac, ==, "52:54:00:00:00:01");
    g_assert_cmpstr (name, ==, ODD_VM);
    g_assert_cmpstr (ip, ==, "10.137.9.5");
  }
  {
    g_autofree char *name = tsr_xml_prop (xmlDocGetRootElement (anonymous_doc), "name");

    g_assert_null (name);
  }
}

/* Through libvirt's test driver */

static char *
disk_file (const char *domain_xml,
           const char *target)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (domain_xml);
  xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;

  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *dev = tsr_xml_is (n, "disk") ? tsr_xml_find_prop (n, "target", "dev") : NULL;

      if (g_strcmp0 (dev, target) == 0)
        return tsr_xml_find_prop (n, "source", "file");
    }
  return NULL;
}

/* The backing file and format of the volume at PATH, as libvirt has them. */
static void
volume_backing (virConnectPtr   handle,
                const char     *path,
                char          **backing,
                char          **format)
{
  g_autoptr(virStorageVol) vol = virStorageVolLookupByPath (handle, path);
  g_autofree char *xml = NULL;
  g_autoptr(xmlDoc) doc = NULL;

  g_assert_nonnull (vol);
  xml = virStorageVolGetXMLDesc (vol, 0);
  doc = tsr_xml_parse (xml);
  g_assert_nonnull (doc);
  *backing = tsr_xml_text (tsr_xml_find (xmlDocGetRootElement (doc), "backingStore/path"));
  *format = tsr_xml_volume_format (xml);
}

/* A pool in a folder and a VM whose name and disk need escaping. */
static char *
define_odd_vm (virConnectPtr handle)
{
  g_autoptr(xmlDoc) pool_doc = tsr_xml_new ("pool");
  g_autoptr(xmlDoc) vol_doc = tsr_xml_new ("volume");
  g_autoptr(xmlDoc) dom_doc = tsr_xml_new ("domain");
  g_autofree char *pool_xml = NULL;
  g_autofree char *vol_xml = NULL;
  g_autofree char *dom_xml = NULL;
  g_autoptr(virStoragePool) pool = NULL;
  g_autoptr(virStorageVol) vol = NULL;
  g_autoptr(virDomain) dom = NULL;
  xmlNodePtr root, disk;
  char *path;

  root = xmlDocGetRootElement (pool_doc);
  tsr_xml_set (root, "type", "dir");
  tsr_xml_add (root, "name", "odd-pool");
  tsr_xml_add (tsr_xml_add (root, "target", NULL), "path", ODD_DIR);
  pool_xml = tsr_xml_dump (pool_doc);
  pool = virStoragePoolCreateXML (handle, pool_xml, 0);
  g_assert_nonnull (pool);

  root = xmlDocGetRootElement (vol_doc);
  tsr_xml_add (root, "name", ODD_VM "-root.qcow2");
  tsr_xml_add_with (root, "capacity", "unit", "MiB", NULL);
  tsr_xml_set_text (tsr_xml_child (root, "capacity"), "64");
  tsr_xml_add_with (tsr_xml_add (root, "target", NULL), "format", "type", "qcow2", NULL);
  vol_xml = tsr_xml_dump (vol_doc);
  vol = virStorageVolCreateXML (pool, vol_xml, 0);
  g_assert_nonnull (vol);
  path = virStorageVolGetPath (vol);
  g_assert_cmpstr (path, ==, ODD_DIR "/" ODD_VM "-root.qcow2");

  root = xmlDocGetRootElement (dom_doc);
  tsr_xml_set (root, "type", "test");
  tsr_xml_add (root, "name", ODD_VM);
  tsr_xml_add_with (root, "memory", "unit", "MiB", NULL);
  tsr_xml_set_text (tsr_xml_child (root, "memory"), "256");
  tsr_xml_add_with (tsr_xml_add (root, "os", NULL), "type", "arch", "x86_64", NULL);
  tsr_xml_set_text (tsr_xml_find (root, "os/type"), "hvm");
  disk = tsr_xml_add_with (tsr_xml_add (root, "devices", NULL), "disk",
                           "type", "file", "device", "disk", NULL);
  tsr_xml_add_with (disk, "driver", "name", "qemu", "type", "qcow2", NULL);
  tsr_xml_add_with (disk, "source", "file", path, NULL);
  tsr_xml_add_with (disk, "target", "dev", "vda", "bus", "virtio", NULL);
  tsr_xml_add_with (tsr_xml_find (root, "devices"), "interface", "type", "direct", NULL);
  tsr_xml_add_with (tsr_xml_find (root, "devices/interface"), "mac",
                    "address", "52:54:00:0D:D0:01", NULL);
  tsr_xml_add_with (tsr_xml_find (root, "devices/interface"), "source",
                    "dev", "eth0", "mode", "bridge", NULL);
  dom_xml = tsr_xml_dump (dom_doc);
  dom = virDomainDefineXML (handle, dom_xml);
  g_assert_nonnull (dom);
  g_assert_cmpstr (virDomainGetName (dom), ==, ODD_VM);
  return path;
}

/* The storage module's pool reader and volume writer on names that need
 * escaping: libvirt reads back exactly the name, size and format written.
 */
static void
test_libvirt_storage (void)
{
  g_autoptr(virConnect) handle = virConnectOpen ("test:///default");
  g_autoptr(virStoragePool) pool = NULL;
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *vol_xml = NULL;
  g_autofree char *back = NULL;
  g_autofree char *format = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  g_autofree char *capacity = NULL;

  g_assert_nonnull (handle);
  path = define_odd_vm (handle);
  pool = virStoragePoolLookupByName (handle, "odd-pool");
  g_assert_nonnull (pool);
  dir = tsr_storage_pool_dir (pool);
  g_assert_cmpstr (dir, ==, ODD_DIR);

  vol_xml = tsr_storage_volume_xml (ODD_VM "-private.raw", 3 * 1024 * 1024 + 512, "raw");
  vol = virStorageVolCreateXML (pool, vol_xml, 0);
  g_assert_nonnull (vol);
  g_assert_cmpstr (virStorageVolGetName (vol), ==, ODD_VM "-private.raw");
  back = virStorageVolGetXMLDesc (vol, 0);
  format = tsr_xml_volume_format (back);
  g_assert_cmpstr (format, ==, "raw");
  doc = tsr_xml_parse (back);
  capacity = tsr_xml_text (tsr_xml_find (xmlDocGetRootElement (doc), "capacity"));
  g_assert_cmpstr (capacity, ==, "3146240");
}

static void
test_libvirt_macs (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *path = define_odd_vm (handle);
  g_autoptr(virDomain) dom = virDomainLookupByName (handle, ODD_VM);
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autoptr(GHashTable) all = tsr_macs_in_use (handle, NULL);
  g_autoptr(GHashTable) others = NULL;

  g_assert_cmpstr (g_hash_table_lookup (all, "52:54:00:0d:d0:01"), ==, ODD_VM);
  g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
  others = tsr_macs_in_use (handle, uuid);
  g_assert_false (g_hash_table_contains (others, "52:54:00:0d:d0:01"));
  g_assert_cmpuint (g_hash_table_size (others), ==, g_hash_table_size (all) - 1);

  tsr_test_close_connection (conn, 20);
}

static char *
clone_vm (TsrConnection  *conn,
          const char     *source,
          TsrCloneSpec   *spec,
          GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  TsrVm *vm = tsr_connection_lookup_vm (conn, source);

  g_assert_nonnull (vm);
  tsr_connection_clone_vm_async (conn, vm, spec, NULL, NULL, NULL, tsr_test_store_result_cb,
                                 &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_clone_vm_finish (conn, result, NULL, error);
}

/* A linked clone writes two overlay volumes whose names and backing paths
 * hold every character that needs escaping.
 */
static void
test_libvirt_linked_clone (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *base = define_odd_vm (handle);
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("odd-lnk");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *src_xml = NULL;
  g_autofree char *clone_disk = NULL;
  g_autofree char *src_disk = NULL;
  g_auto(GStrv) bases = NULL;

  WAIT_UNTIL (tsr_connection_lookup_vm (conn, ODD_VM) != NULL);
  spec->linked = TRUE;
  name = clone_vm (conn, ODD_VM, spec, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "odd-lnk");

  xml = tsr_test_domain_xml (handle, "odd-lnk", VIR_DOMAIN_XML_INACTIVE);
  src_xml = tsr_test_domain_xml (handle, ODD_VM, VIR_DOMAIN_XML_INACTIVE);
  clone_disk = disk_file (xml, "vda");
  src_disk = disk_file (src_xml, "vda");
  g_assert_cmpstr (clone_disk, ==, ODD_DIR "/odd-lnk-root.qcow2");
  g_assert_cmpstr (src_disk, ==, ODD_DIR "/" ODD_VM "-root-1.qcow2");

  {
    g_autofree char *backing = NULL;
    g_autofree char *format = NULL;

    volume_backing (handle, clone_disk, &backing, &format);
    g_assert_cmpstr (backing, ==, base);
    g_assert_cmpstr (format, ==, "qcow2");
  }
  {
    g_autofree char *backing = NULL;
    g_autofree char *format = NULL;

    volume_backing (handle, src_disk, &backing, &format);
    g_assert_cmpstr (backing, ==, base);
    g_assert_cmpstr (format, ==, "qcow2");
  }

  bases = tsr_domain_xml_linked_bases (xml);
  g_assert_cmpuint (g_strv_length (bases), ==, 1);
  g_assert_cmpstr (bases[0], ==, base);

  tsr_test_close_connection (conn, 20);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tsr_init ();
  g_setenv ("TESSERA_KERNELS_DIR", "/nonexistent-kernels", TRUE);

  g_test_add_func ("/xml/builder/round-trip", test_builder_round_trip);
  g_test_add_func ("/xml/builder/set-text", test_set_text);
  g_test_add_func ("/xml/reader/invalid", test_parse_invalid);
  g_test_add_func ("/xml/metadata/text", test_metadata_text);
  g_test_add_func ("/xml/pool/holds-files", test_pool_holds_files);
  g_test_add_func ("/xml/volume/format", test_volume_format);
  g_test_add_func ("/xml/domcaps/uefi", test_domcaps_uefi);
  g_test_add_func ("/xml/macs/domain", test_macs_of_domain);
  g_test_add_func ("/xml/network/build", test_network_xml);
  g_test_add_func ("/xml/libvirt/macs", test_libvirt_macs);
  g_test_add_func ("/xml/libvirt/linked-clone", test_libvirt_linked_clone);
  g_test_add_func ("/xml/libvirt/storage", test_libvirt_storage);

  return g_test_run ();
}
