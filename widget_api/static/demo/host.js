/* The demo's stand-in for amoCRM: the AMOCRM global, the base Widget object (system, get_settings,
 * i18n, render, render_template, $authorizedAjax), the modal component, and the three places a widget
 * is drawn (lead card, integration settings, advanced settings page). It loads frontend_widget/script.js
 * unchanged and calls its callbacks in the platform's order. The CRM-independent half (modal, modules,
 * texts, templates, loading) is widget_host/platform.js, shared with the Bitrix24 frame. */
(function ($, _) {
  'use strict';

  var boot = JSON.parse(document.getElementById('demo-boot').textContent);
  var SETTINGS_KEY = 'payplan-demo-settings';
  var state = {area: boot.area, leadId: boot.lead_id, widget: null, manifest: null, langs: null};

  var host = window.PayPlanWidgetHost;
  var Modal = host.Modal;
  var toast = host.toast;

  // ---- the AMOCRM global --------------------------------------------------------------------
  window.AMOCRM = window.APP = {
    lang_id: boot.lang,
    data: {current_card: {id: state.leadId}, current_entity: 'leads', is_card: true},
    constant: function (name) {
      return {account: boot.account, user: boot.user, managers: boot.managers}[name];
    },
    getBaseEntity: function () { return 'leads'; },
    isCard: function () { return state.area === 'lcard'; },
    notifications: {
      show_message: function (message) { toast((message.header ? message.header + ': ' : '') + message.text); },
      add_error: function (message) { toast(message.text || message.header, 'error'); }
    }
  };

  // ---- the base Widget object ---------------------------------------------------------------
  function savedSettings() {
    try {
      return JSON.parse(window.localStorage.getItem(SETTINGS_KEY)) || {};
    } catch (ignored) {
      return {};
    }
  }

  function widgetSettings() {
    return $.extend({backend_url: window.location.origin}, savedSettings(), {
      widget_code: boot.widget_code, path: boot.widget_path, version: state.manifest.widget.version,
      active: 'Y', widget_active: 'Y', oauth_client_uuid: 'demo'
    });
  }

  function text(key) {
    return host.text(state.langs, key);
  }

  var base = $.extend(host.baseWidget(state), {
    system: function () {
      return {area: state.area, amouser_id: boot.user.id, amouser: boot.user.login, amohash: 'demo',
        subdomain: boot.account.subdomain, domain: boot.account.subdomain + '.amocrm.ru',
        server: 'demo', lang: boot.lang};
    },
    get_settings: widgetSettings,
    render_template: function (options) {
      var caption = options.caption || {};
      var $block = $('<div class="card-widgets__widget" data-code="' + boot.widget_code + '">' +
        '<div class="card-widgets__widget__caption ' + _.escape(caption.class_name || '') + '">' +
        '<img class="card-widgets__widget__logo" alt="" src="' + boot.widget_path + '/images/logo_min.png">' +
        '<span class="card-widgets__widget__name"></span><span class="card-widgets__widget__toggle"></span></div>' +
        '<div class="card-widgets__widget__body"></div></div>');
      $block.find('.card-widgets__widget__name').html(caption.html || _.escape(text(state.manifest.widget.name)));
      $block.find('.card-widgets__widget__body').html((options.body || '') + (options.render || ''));
      $('#card-widgets [data-code="' + boot.widget_code + '"]').remove();
      $('#card-widgets').append($block);
    },
    // amoCRM's helper: a fresh disposable token for every call, sent as X-Auth-Token.
    $authorizedAjax: function (options) {
      var result = $.Deferred();
      $.ajax({url: boot.token_url, type: 'POST', dataType: 'json', timeout: 10000}).then(function (reply) {
        var request = $.extend({}, options, {headers: $.extend({}, options.headers, {'X-Auth-Token': reply.token})});
        $.ajax(request).then(function (data, status, xhr) { result.resolve(data, status, xhr); },
          function (xhr, status, error) { result.reject(xhr, status, error); });
      }, function (xhr, status, error) { result.reject(xhr, status, error); });
      return result.promise();
    }
  });

  function createWidget(Factory) {
    return host.create(Factory, base, {path: boot.widget_path, widget_code: boot.widget_code,
      version: state.manifest.widget.version}, state.langs);
  }

  // ---- areas ----------------------------------------------------------------------------------
  function leadOf(id) {
    return _.findWhere(boot.deals, {id: id}) || {id: id, name: '', contact: '', status: 'no_plan', total: '0'};
  }

  function drawLeadCard() {
    var lead = leadOf(state.leadId);
    var stage = {no_plan: 'stage_new', active: 'stage_paying', overdue: 'stage_overdue', paid: 'stage_won',
      cancelled: 'stage_lost'}[lead.status] || 'stage_new';
    var manager = boot.managers[String(lead.responsible_user_id)] || boot.user;
    $('#lead-name').text(lead.name || ('#' + lead.id));
    $('#lead-id').text('#' + lead.id);
    $('#lead-stage').text($('#lead-stage').attr('data-' + stage.replace('_', '-')));
    $('#lead-stage-bar').attr('data-stage', stage);
    $('#lead-budget').text(Number(lead.total).toLocaleString('ru-RU') + ' ₽');
    $('#lead-contact').text(lead.contact || '—');
    $('#lead-responsible').text(manager.title);
    $('#lead-group').text(lead.group || '—');
    $('#lead-switcher').val(String(lead.id));
    $('#card-widgets').empty();
  }

  function openSettingsModal(widget) {
    var values = widgetSettings();
    var fields = _.map(state.manifest.settings, function (field, code) {
      return '<label class="widget-settings__field"><span>' + _.escape(text(field.name)) +
        (field.required ? ' *' : '') + '</span><input class="widget-settings__input" name="' + code + '" type="' +
        (field.type === 'pass' ? 'password' : 'text') + '" value="' + _.escape(values[code] || '') + '"></label>';
    }).join('');
    var modal = new Modal({
      class_name: 'modal-window widget-settings-modal',
      init: function ($body) {
        $body.html('<div class="widget-settings">' +
          '<div class="widget-settings__head"><img src="' + boot.widget_path + '/images/logo_main.png" alt="">' +
          '<div><h2>' + _.escape(text(state.manifest.widget.name)) + '</h2><p>' +
          _.escape(text(state.manifest.widget.description)) + '</p></div></div>' +
          '<div class="widget_settings_block__fields">' + fields +
          '<div class="widget-settings__buttons"><button type="button" class="demo-button demo-button--blue" ' +
          'data-demo-save>' + _.escape($('#demo-texts').attr('data-save')) + '</button>' +
          '<span class="widget-settings__saved"></span></div></div></div>')
          .append('<span class="modal-body__close"><span class="icon icon-modal-close"></span></span>');
        $body.on('click', '[data-demo-save]', function () {
          var data = {};
          $body.find('.widget-settings__input').each(function () { data[this.name] = $(this).val(); });
          if (widget.callbacks.onSave({fields: data, active: 'Y'}) !== false) {
            window.localStorage.setItem(SETTINGS_KEY, JSON.stringify(data));
            $body.find('.widget-settings__saved').text($('#demo-texts').attr('data-saved'));
          }
        });
      }
    });
    widget.callbacks.settings(modal.$modal.find('.modal-body'));
  }

  function go(area, leadId) {
    if (state.widget) {
      try {
        state.widget.callbacks.destroy();
      } catch (error) {
        window.console.error(error);
      }
    }
    _.each(host.modals(), function (modal) { modal.destroy(); });
    state.area = area;
    state.leadId = leadId || state.leadId;
    window.AMOCRM.data.current_card = {id: area === 'lcard' ? state.leadId : 0};
    window.history.replaceState(null, '', '?' + $.param({area: area, lead: state.leadId, lang: boot.lang}));
    $('[data-area-page]').each(function () { $(this).prop('hidden', $(this).attr('data-area-page') !== area); });
    $('[data-nav]').each(function () { $(this).toggleClass('is-active', $(this).attr('data-nav') === area); });
    if (area === 'lcard') {
      drawLeadCard();
    } else if (area === 'advanced_settings') {
      $('#work-area-' + boot.widget_code).empty();
    }
    var widget = state.widget = createWidget(state.Factory);
    host.run(widget);
    if (area === 'settings') {
      openSettingsModal(widget);
    } else if (area === 'advanced_settings') {
      widget.callbacks.advancedSettings();
    }
  }

  // ---- page wiring --------------------------------------------------------------------------
  $(document).on('click', '[data-nav]', function (event) {
    event.preventDefault();
    go($(this).attr('data-nav'));
  });
  $(document).on('click', '[data-open-settings]', function () { go('settings'); });
  $(document).on('change', '#lead-switcher', function () { go('lcard', parseInt($(this).val(), 10)); });
  // amoCRM is a single-page app: its own links never reload the page.
  $(document).on('click', 'a[href^="/leads/detail/"]', function (event) {
    event.preventDefault();
    go('lcard', parseInt($(this).attr('href').split('/').pop(), 10));
  });

  host.load(boot.widget_path, boot.lang, function (Factory, manifest, langs) {
    state.manifest = manifest;
    state.langs = langs;
    $('[data-widget-name]').text(text(state.manifest.widget.name));
    $('[data-widget-description]').text(text(state.manifest.widget.short_description));
    $('[data-advanced-title]').text(text(state.manifest.advanced.title));
    state.Factory = Factory;
    go(state.area, state.leadId);
    $('body').attr('data-widget-ready', 'true');
  });
}(window.jQuery, window._));
