# make deb: a Debian binary package of this tree, for this machine's
# architecture, in $(BUILD)/deb/. Included by the top Makefile.
#
# Made with dpkg-deb from `make install`, not with dpkg-buildpackage: no
# debian/ directory and no debhelper to install, nothing written outside
# $(BUILD) (dpkg-buildpackage writes the .deb into the parent directory, and
# its clean step runs `make clean`), and the version is the Makefile's. What
# debhelper would do is done here: dpkg-buildflags (hardening) for a build of
# its own, strip, compressed man page and changelog, documents over 4 KiB
# compressed but examples not (dh_compress since compat 12), md5sums, conffiles,
# Depends from dpkg-shlibdeps. Needs dpkg-dev.

DEB_REVISION ?= 1
DEB_VERSION = $(VERSION)-$(DEB_REVISION)
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_DIR = $(BUILD)/deb
DEB_ROOT = $(DEB_DIR)/root
DEB_DOC = $(DEB_ROOT)/usr/share/doc/xdptop
DEB_FILE = $(DEB_DIR)/xdptop_$(DEB_VERSION)_$(DEB_ARCH).deb

.PHONY: deb

deb:
	$(Q)command -v dpkg-buildflags >/dev/null || \
	    { echo "make deb needs dpkg-dev: apt-get install dpkg-dev" >&2; exit 1; }
	$(Q)head -n 1 contrib/debian/changelog | grep -q '^xdptop ($(DEB_VERSION)) ' || \
	    { echo "contrib/debian/changelog does not start with version $(DEB_VERSION):" \
	           "add an entry for it" >&2; exit 1; }
	$(Q)rm -rf $(DEB_ROOT) $(DEB_DIR)/shlibs $(DEB_DIR)/*.deb
	$(call msg,DEB-BUILD,$(DEB_DIR)/build)
	$(Q)export DEB_BUILD_MAINT_OPTIONS=hardening=+all; \
	    CFLAGS="$$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" \
	    LDFLAGS="$$(dpkg-buildflags --get LDFLAGS) -Wl,--as-needed" \
	    $(MAKE) --no-print-directory BUILD=$(DEB_DIR)/build SANITIZE= install \
	        PREFIX=/usr SYSCONFDIR=/etc DESTDIR=$(DEB_ROOT) >/dev/null
	$(Q)strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	    $(DEB_ROOT)/usr/sbin/xdptop
	$(Q)gzip -9n $(DEB_ROOT)/usr/share/man/man8/xdptop.8
	$(Q)find $(DEB_DOC) -path $(DEB_DOC)/examples -prune -o \
	    -type f -size +4k ! -name '*.gz' -exec gzip -9n {} +
	$(Q)install -D -m 0644 contrib/debian/copyright $(DEB_DOC)/copyright
	$(Q)gzip -9nc contrib/debian/changelog > $(DEB_DOC)/changelog.Debian.gz
	$(Q)install -d $(DEB_ROOT)/DEBIAN $(DEB_DIR)/shlibs/debian
	$(Q)install -m 0755 contrib/debian/postinst contrib/debian/prerm contrib/debian/postrm \
	    $(DEB_ROOT)/DEBIAN/
	$(Q)echo /etc/default/xdptop > $(DEB_ROOT)/DEBIAN/conffiles
	$(Q)cd $(DEB_ROOT) && find usr lib -type f | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums
	$(Q)printf 'Source: xdptop\n\nPackage: xdptop\nArchitecture: any\n' \
	    > $(DEB_DIR)/shlibs/debian/control
	$(Q)depends=$$(cd $(DEB_DIR)/shlibs && \
	    dpkg-shlibdeps -O -e$(abspath $(DEB_ROOT))/usr/sbin/xdptop | sed -n 's/^shlibs:Depends=//p'); \
	    [ -n "$$depends" ] || { echo "dpkg-shlibdeps found no dependency" >&2; exit 1; }; \
	    size=$$(du -sk --apparent-size --exclude=DEBIAN $(DEB_ROOT) | cut -f1); \
	    sed -e 's/@VERSION@/$(DEB_VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
	        -e "s/@SIZE@/$$size/" -e "s/@DEPENDS@/$$depends/" \
	        contrib/debian/control.in > $(DEB_ROOT)/DEBIAN/control
	$(Q)find $(DEB_ROOT) -type d -exec chmod 0755 {} +
	$(Q)chmod 0644 $(DEB_ROOT)/DEBIAN/control $(DEB_ROOT)/DEBIAN/conffiles \
	    $(DEB_ROOT)/DEBIAN/md5sums $(DEB_DOC)/changelog.Debian.gz \
	    $(DEB_ROOT)/usr/share/man/man8/xdptop.8.gz
	$(call msg,DPKG-DEB,$(DEB_FILE))
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB_FILE) >/dev/null
