/* The Bitrix24 host of PayPlan's widget UI core (frontend_widget/script.js, loaded unchanged, the same
 * file the amoCRM widget runs). Bitrix24 has no widget platform, so this shim gives the core the few
 * things it asks its host for: the deal id (from the frame's PLACEMENT_OPTIONS), the API base (our own
 * origin: the frame page is ours), a bearer token (minted by PayPlan after the frame POST was verified,
 * renewed while the page is open), the texts, templates, modals and the place to draw in.
 * Deal tab (CRM_DEAL_DETAIL_TAB) → the card panel; the app's main page (DEFAULT) → analytics + settings. */
(function ($, _, Twig) {
  'use strict';

  var boot = JSON.parse(document.getElementById('payplan-boot').textContent);
  var RENEW_MS = 40 * 60 * 1000;
  var state = {token: boot.token, manifest: null, langs: null, widget: null};
  var modals = [];

  // ---- lib/components/base/modal (what the core's dialogs use) --------------------------------
  function Modal(options) {
    var modal = this;
    this.options = options || {};
    this.$modal = $('<div class="modal ' + _.escape(this.options.class_name || '') + '">' +
      '<div class="modal-overlay"></div><div class="modal-scroller"><div class="modal-body"></div></div></div>')
      .appendTo('body');
    var $body = this.$modal.find('.modal-body');
    $body.on('click', '.modal-body__close', function () { modal.destroy(); });
    this.$modal.find('.modal-overlay').on('click', function () { modal.destroy(); });
    modals.push(this);
    if (this.options.init) {
      this.options.init($body);
    }
  }
  Modal.prototype.destroy = function () {
    if (this.destroyed || (this.options.destroy && this.options.destroy() === false)) {
      return;
    }
    this.destroyed = true;
    this.$modal.remove();
    modals = _.without(modals, this);
  };
  $(document).on('keydown', function (event) {
    if (event.key === 'Escape' && modals.length) {
      modals[modals.length - 1].destroy();
    }
  });

  function toast(text, tone) {
    var $toast = $('<div class="payplan-host-toast" data-tone="' + (tone || 'info') + '"></div>').text(text)
      .appendTo('body');
    setTimeout(function () { $toast.remove(); }, 5000);
  }

  // ---- what the core reads from its host's globals ----------------------------------------------
  window.AMOCRM = window.APP = {
    lang_id: boot.lang,
    data: {current_card: {id: boot.area === 'lcard' ? boot.deal_id : 0}, current_entity: 'leads',
      is_card: boot.area === 'lcard'},
    constant: function (name) {
      return {account: boot.account, user: boot.user, managers: boot.managers}[name];
    },
    getBaseEntity: function () { return 'leads'; },
    isCard: function () { return boot.area === 'lcard'; },
    notifications: {
      show_message: function (message) { toast((message.header ? message.header + ': ' : '') + message.text); },
      add_error: function (message) { toast(message.text || message.header, 'error'); }
    }
  };
  define('jquery', [], function () { return $; });
  define('underscore', [], function () { return _; });
  define('twigjs', [], function () { return Twig; });
  define('lib/components/base/modal', ['jquery'], function () { return Modal; });

  // ---- the token: minted for the verified frame, renewed while the page stays open ---------------
  function renew() {
    return $.ajax({url: boot.renew_url, type: 'POST', dataType: 'json', timeout: 10000,
      headers: {Authorization: 'Bearer ' + state.token}}).then(function (reply) {
      state.token = reply.token;
      return reply.token;
    });
  }
  setInterval(renew, RENEW_MS);

  function text(key) {
    var node = state.langs;
    _.each(key.split('.'), function (part) { node = node && node[part]; });
    return typeof node === 'string' ? node : key;
  }

  var base = {
    system: function () {
      return {area: boot.area, amouser_id: boot.user.id, subdomain: boot.account.subdomain,
        domain: boot.account.subdomain, server: 'bitrix24', lang: boot.lang};
    },
    get_settings: function () {
      return {backend_url: window.location.origin, widget_code: boot.widget_code, path: boot.widget_path,
        version: state.manifest.widget.version, active: 'Y', widget_active: 'Y'};
    },
    get_version: function () { return state.manifest.widget.version; },
    i18n: function (section) { return state.langs[section]; },
    set_status: function () {},
    render: function (options, params) {
      if (options.data !== undefined) {
        return Twig.twig({data: options.data}).render(params || {});
      }
      $.ajax({url: (options.base_path || '') + options.href, data: options.v ? {v: options.v} : undefined,
        dataType: 'text', cache: true}).done(function (source) {
        if (options.load) {
          options.load(Twig.twig({data: source}));
        }
      });
      return '';
    },
    render_template: function (options) {
      $('#payplan-card').html((options.body || '') + (options.render || ''));
    },
    // The core's only way to the API: the call with our bearer token (one renewal on a 401).
    $authorizedAjax: function (options) {
      var send = function () {
        return $.ajax($.extend({}, options, {headers: $.extend({}, options.headers,
          {Authorization: 'Bearer ' + state.token})}));
      };
      var result = $.Deferred();
      send().then(result.resolve, function (xhr, status, error) {
        if (xhr.status !== 401) {
          return result.reject(xhr, status, error);
        }
        renew().then(function () { send().then(result.resolve, result.reject); },
          function () { result.reject(xhr, status, error); });
      });
      return result.promise();
    }
  };

  function openSettings(widget) {
    var modal = new Modal({
      class_name: 'modal-window widget-settings-modal',
      init: function ($body) {
        $body.html('<div class="widget-settings"><h2>' + _.escape(text(state.manifest.widget.name)) + '</h2>' +
          '<div class="widget_settings_block__fields"></div><div class="widget-settings__buttons">' +
          '<button type="button" class="payplan-host-button payplan-host-button--blue" data-host-save>' +
          _.escape(boot.texts.save) + '</button><span class="widget-settings__saved"></span></div></div>')
          .append('<span class="modal-body__close"><span class="icon icon-modal-close"></span></span>');
        $body.on('click', '[data-host-save]', function () {
          widget.callbacks.onSave({fields: {}, active: 'Y'});
          $body.find('.widget-settings__saved').text(boot.texts.saved);
        });
      }
    });
    widget.callbacks.settings(modal.$modal.find('.modal-body'));
  }

  function start(Factory) {
    var widget = Object.create(base);
    widget.params = {path: boot.widget_path, widget_code: boot.widget_code, version: state.manifest.widget.version};
    widget.langs = state.langs;
    widget = state.widget = Factory.call(widget) || widget;
    _.find(['render', 'init', 'bind_actions'], function (name) { return widget.callbacks[name]() === false; });
    if (boot.area === 'advanced_settings') {
      widget.callbacks.advancedSettings();
    }
    $(document).on('click', '[data-host-settings]', function () { openSettings(widget); });
    $('body').attr('data-widget-ready', 'true');
  }

  function fitFrame() {
    if (window.BX24 && window.BX24.init) {
      window.BX24.init(function () { window.BX24.resizeWindow('100%', Math.max(600, document.body.scrollHeight)); });
    }
  }

  $.when(
    $.getJSON(boot.widget_path + '/manifest.json'),
    $.getJSON(boot.widget_path + '/i18n/' + boot.lang + '.json')
  ).then(function (manifest, langs) {
    state.manifest = manifest[0];
    state.langs = langs[0];
    window.require([boot.widget_path + '/script.js?v=' + state.manifest.widget.version], function (Factory) {
      start(Factory);
      fitFrame();
    }, function (error) { toast(String(error), 'error'); });
  });
}(window.jQuery, window._, window.Twig));
