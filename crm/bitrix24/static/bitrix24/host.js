/* The Bitrix24 host of PayPlan's widget UI core (frontend_widget/script.js, loaded unchanged, the same
 * file the amoCRM widget runs), on the hosts' shared half (widget_host/platform.js). Bitrix24 has no
 * widget platform, so this adds what the core asks its host for: the deal id (from the frame's
 * PLACEMENT_OPTIONS), the API base (our own origin: the frame page is ours), a bearer token (minted by
 * PayPlan after the frame POST was verified, renewed while the page is open) and the place to draw in.
 * Deal tab (CRM_DEAL_DETAIL_TAB) → the card panel; the app's main page (DEFAULT) → analytics + settings. */
(function ($, _) {
  'use strict';

  var boot = JSON.parse(document.getElementById('payplan-boot').textContent);
  var RENEW_MS = 40 * 60 * 1000;
  var host = window.PayPlanWidgetHost;
  var state = {token: boot.token, manifest: null, langs: null};

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
      show_message: function (message) { host.toast((message.header ? message.header + ': ' : '') + message.text); },
      add_error: function (message) { host.toast(message.text || message.header, 'error'); }
    }
  };

  // ---- the token: minted for the verified frame, renewed while the page stays open ---------------
  function renew() {
    return $.ajax({url: boot.renew_url, type: 'POST', dataType: 'json', timeout: 10000,
      headers: {Authorization: 'Bearer ' + state.token}}).then(function (reply) {
      state.token = reply.token;
      return reply.token;
    });
  }
  setInterval(renew, RENEW_MS);

  var base = $.extend(host.baseWidget(state), {
    system: function () {
      return {area: boot.area, amouser_id: boot.user.id, subdomain: boot.account.subdomain,
        domain: boot.account.subdomain, server: 'bitrix24', lang: boot.lang};
    },
    get_settings: function () {
      return {backend_url: window.location.origin, widget_code: boot.widget_code, path: boot.widget_path,
        version: state.manifest.widget.version, active: 'Y', widget_active: 'Y'};
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
  });

  function openSettings(widget) {
    var modal = new host.Modal({
      class_name: 'modal-window widget-settings-modal',
      init: function ($body) {
        $body.html('<div class="widget-settings"><h2>' + _.escape(host.text(state.langs, state.manifest.widget.name)) +
          '</h2><div class="widget_settings_block__fields"></div><div class="widget-settings__buttons">' +
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

  function fitFrame() {
    if (window.BX24 && window.BX24.init) {
      window.BX24.init(function () { window.BX24.resizeWindow('100%', Math.max(600, document.body.scrollHeight)); });
    }
  }

  // The shared UI core's texts name amoCRM where they mean "the CRM": in a Bitrix24 tab they name
  // Bitrix24 (i18n section bitrix24_host: the CRM's name, and whole texts where a word swap reads badly).
  function bitrix24Words(langs) {
    var words = (langs && langs.bitrix24_host) || {};
    var name = words.crm_name || 'Bitrix24';
    function swap(node) {
      _.each(_.keys(node), function (key) {
        if (typeof node[key] === 'string') {
          node[key] = node[key].split('amoCRM').join(name);
        } else if (node[key] && typeof node[key] === 'object') {
          swap(node[key]);
        }
      });
    }
    if (langs) {
      swap(langs);
      if (langs.account && words.crm_connected) {
        langs.account.crm_connected = words.crm_connected;
      }
    }
    return langs;
  }

  host.load(boot.widget_path, boot.lang, function (Factory, manifest, langs) {
    langs = bitrix24Words(langs);
    state.manifest = manifest;
    state.langs = langs;
    var widget = host.create(Factory, base, {path: boot.widget_path, widget_code: boot.widget_code,
      version: manifest.widget.version}, langs);
    host.run(widget);
    if (boot.area === 'advanced_settings') {
      widget.callbacks.advancedSettings();
    }
    $(document).on('click', '[data-host-settings]', function () { openSettings(widget); });
    $('body').attr('data-widget-ready', 'true');
    fitFrame();
  });
}(window.jQuery, window._));
