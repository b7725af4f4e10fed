/**
 * PayPlan for amoCRM: the deal card panel (lcard-1), the account settings (settings) and the analytics
 * page (advanced_settings). Every call to the PayPlan server goes through self.$authorizedAjax, so the
 * server gets amoCRM's disposable token and takes the account from it.
 * Money travels as strings ("25000.00") and is added up in integer kopecks here, never in floats.
 */
define(['jquery', 'underscore', 'twigjs', 'lib/components/base/modal'], function ($, _, Twig, Modal) {
  'use strict';

  var NS = '.payplan';
  var REQUEST_TIMEOUT_MS = 20000;
  var DOWNLOAD_TIMEOUT_MS = 120000;
  var PREVIEW_DELAY_MS = 350;
  var FLASH_MS = 7000;
  // The open card asks the server every few seconds whether anything changed (a cheap ETag check).
  var POLL_MS = 4000;
  var ROWS_PAGE_SIZE = 20;
  var WEEKLY_CHART_AFTER_DAYS = 62;
  var CHART_LIBRARY = '/vendor/frappe-charts.min.umd.js';
  var SECTIONS = ['widget', 'common', 'status', 'line_status', 'invoice_status', 'kind', 'method', 'period',
    'panel', 'schedule', 'payment', 'full_payment', 'correction', 'invoice', 'errors', 'analytics', 'aging', 'account',
    'changes', 'client_page', 'counterparties', 'subscription'];
  // A payout plan (direction outgoing) speaks of payouts: these texts replace the payment words there.
  var PAYOUT_WORDS = {'status.paid': 'status_paid', 'line_status.paid': 'line_paid',
    'line_status.partially_paid': 'line_partially_paid', 'panel.next_due': 'next_due', 'panel.schedule': 'schedule',
    'panel.paid_part': 'paid_part', 'payment.title': 'payment_title', 'payment.hint': 'payment_hint',
    'payment.debt_now': 'payment_debt_now', 'payment.debt_after': 'payment_debt_after',
    'payment.over_debt': 'payment_over_debt', 'payment.will_close': 'payment_will_close',
    'payment.paid_at': 'payment_paid_at', 'payment.method': 'payment_method', 'payment.save': 'payment_save',
    'payment.saved': 'payment_saved', 'full_payment.title': 'full_title', 'full_payment.hint': 'full_hint',
    'full_payment.amount': 'full_amount', 'full_payment.completes': 'full_completes',
    'full_payment.save': 'full_save', 'full_payment.saved': 'full_saved',
    'schedule.sum_already_paid': 'sum_already_paid', 'schedule.sum_debt': 'sum_debt',
    'schedule.sum_count': 'sum_count', 'schedule.sum_monthly': 'sum_monthly', 'schedule.sum_last': 'sum_last'};
  var CHANGE_FIELDS = ['total', 'already_paid', 'direction', 'group', 'education_direction', 'autopay', 'manager_id'];
  var CURRENCY_SIGNS = {RUB: '₽', USD: '$', EUR: '€', KZT: '₸', UAH: '₴', BYN: 'Br'};
  var OFFLINE_METHODS = ['cash', 'bank_transfer', 'card_terminal', 'other'];
  var PAYABLE = ['active', 'overdue'];
  var OPEN_LINES = ['planned', 'invoiced', 'partially_paid', 'overdue'];
  var ROW_KINDS = ['received', 'upcoming', 'overdue'];
  var SERVICE_SOURCES = ['fixed', 'group', 'education_direction', 'custom_field', 'product', 'course'];
  var FIELD_KEYS = ['total', 'received', 'debt', 'payments_count', 'monthly_payment', 'last_payment_day', 'group',
    'education_direction', 'next_payment_date'];
  // The order of the form; any other requisite the server returns is shown after these, never dropped.
  var REQUISITE_KEYS = ['company_name', 'inn', 'kpp', 'ogrn', 'address', 'director', 'accountant', 'bank_name',
    'bik', 'correspondent_account', 'bank_account', 'email', 'phone'];
  var REMINDER_ACTIONS = ['client_email', 'client_reminder', 'manager_task', 'escalate'];
  // CloudKassir's VAT codes as the server accepts them: null is "no VAT"; 1xx are the calculated rates x/1xx.
  var VAT_CODES = [null, 0, 5, 7, 10, 20, 22, 105, 107, 110, 120, 122];
  // ENVD (3) was abolished in 2021 and the server refuses it; an account that stored it still sees it.
  var TAXATION_SYSTEMS = [0, 1, 2, 4, 5];
  var RECEIPT_METHODS = [1, 2, 3, 4, 5, 6, 7];
  var RECEIPT_OBJECTS = [1, 3, 4, 10, 13];
  // Russia's zones (no daylight saving), west to east: the pick-list of the settings page.
  var TIME_ZONES = [['Europe/Kaliningrad', '+2', 'kaliningrad'], ['Europe/Moscow', '+3', 'moscow'],
    ['Europe/Samara', '+4', 'samara'], ['Asia/Yekaterinburg', '+5', 'yekaterinburg'], ['Asia/Omsk', '+6', 'omsk'],
    ['Asia/Novosibirsk', '+7', 'novosibirsk'], ['Asia/Krasnoyarsk', '+7', 'krasnoyarsk'],
    ['Asia/Irkutsk', '+8', 'irkutsk'], ['Asia/Yakutsk', '+9', 'yakutsk'], ['Asia/Vladivostok', '+10', 'vladivostok'],
    ['Asia/Magadan', '+11', 'magadan'], ['Asia/Kamchatka', '+12', 'kamchatka']];
  var TEMPLATE_KINDS = ['invoice', 'receipt', 'schedule', 'contract', 'offer'];
  var DEAL_DOCUMENTS = ['contract', 'offer', 'schedule'];
  var DOCUMENT_RETRIES = 24;
  var ROUNDING_KEYS = {'0.01': 'kopecks', '1': 'roubles', '100': 'hundreds'};
  var INTEREST_PLANS = ['annuity', 'differentiated'];
  var DAY_COUNTS = ['actual/365', 'actual/actual', '30/360'];
  var DAY_COUNT_KEYS = {'actual/365': 'actual_365', 'actual/actual': 'actual_actual', '30/360': 'thirty_360'};

  // ---- money and dates: pure helpers ----------------------------------------------------------

  function kopecks(value) {
    var text = String(value === null || value === undefined ? '' : value)
      .replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
    var match = /^(-?)(\d{1,15})(?:\.(\d{0,2}))?$/.exec(text);
    if (!match) {
      return null;
    }
    var cents = parseInt(match[2], 10) * 100 + parseInt(((match[3] || '') + '00').slice(0, 2), 10);
    return match[1] ? -cents : cents;
  }

  function amountString(cents) {
    var abs = Math.abs(cents);
    return (cents < 0 ? '-' : '') + Math.floor(abs / 100) + '.' + ('0' + (abs % 100)).slice(-2);
  }

  function normalizedAmount(text) {
    var cents = kopecks(text);
    return cents === null ? String(text).trim() : amountString(cents);
  }

  function pad(number) {
    return ('0' + number).slice(-2);
  }

  function isoDate(date) {
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate());
  }

  function addMonths(date, months) {
    var result = new Date(date.getFullYear(), date.getMonth() + months, 1);
    var lastDay = new Date(result.getFullYear(), result.getMonth() + 1, 0).getDate();
    result.setDate(Math.min(date.getDate(), lastDay));
    return result;
  }

  function parseIso(text) {
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text || '');
    return match ? new Date(+match[1], +match[2] - 1, +match[3]) : null;
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return _.map(bytes, function (byte) { return ('0' + byte.toString(16)).slice(-2); }).join('');
  }

  function escapeHtml(text) {
    return _.escape(text === null || text === undefined ? '' : String(text));
  }

  function saveBlob(blob, filename) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement('a');
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.parentNode.removeChild(link);
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function filenameFrom(xhr, fallback) {
    var header = (xhr && xhr.getResponseHeader && xhr.getResponseHeader('Content-Disposition')) || '';
    var encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (encoded) {
      try {
        return decodeURIComponent(encoded[1]);
      } catch (ignored) {
        return fallback;
      }
    }
    var match = /filename="?([^";]+)"?/.exec(header);
    return match ? match[1] : fallback;
  }

  return function () {
    var self = this;
    var templates = {};
    var timers = {};
    var panel = {deal: null, seq: 0, error: null, etag: null, polling: false,
      open: {lines: true, invoices: true, payments: false}};
    var dialog = null;
    var modal = null;
    // The rows table pages by keyset cursor: `cursors` is the way back (null: the first page), `next` the way on.
    var analytics = {filters: null, kind: 'received', cursors: [null], next: null, total: null, rowsSeq: 0, seq: 0,
      chart: null, options: null};
    var counterparties = {groupBy: 'counterparty', seq: 0};

    // ---- platform glue --------------------------------------------------------------------------

    function lang() {
      var amo = window.AMOCRM || {};
      return (amo.lang_id || (self.system() || {}).lang || 'ru') === 'ru' ? 'ru' : 'en';
    }

    function t(path) {
      var parts = path.split('.');
      var node = self.i18n(parts[0]);
      for (var index = 1; node && index < parts.length; index += 1) {
        node = node[parts[index]];
      }
      return typeof node === 'string' ? node : path;
    }

    function tf(path, values) {
      return t(path).replace(/\{(\w+)\}/g, function (whole, name) {
        return values[name] === undefined ? whole : values[name];
      });
    }

    function texts(outgoing) {
      var all = {};
      _.each(SECTIONS, function (section) { all[section] = _.clone(self.i18n(section) || {}); });
      if (outgoing) {
        _.each(PAYOUT_WORDS, function (key, path) {
          var parts = path.split('.');
          all[parts[0]][parts[1]] = t('payout.' + key);
        });
      }
      return all;
    }

    // The text at `path`, in payout words when the plan pays the client.
    function word(path, outgoing) {
      return t(outgoing && PAYOUT_WORDS[path] ? 'payout.' + PAYOUT_WORDS[path] : path);
    }

    // Money as every PayPlan text writes it: always with kopecks («160 000,00 ₽»); `exact` is kept for old callers.
    function money(value, currency, exact) {
      var cents = kopecks(value);
      if (cents === null) {
        return '';
      }
      var abs = Math.abs(cents);
      var whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, lang() === 'ru' ? '\u00a0' : ',');
      var fraction = (lang() === 'ru' ? ',' : '.') + pad(abs % 100);
      var code = currency || (panel.deal && panel.deal.currency) || 'RUB';
      return (cents < 0 ? '−' : '') + whole + fraction + '\u00a0' + (CURRENCY_SIGNS[code] || code);
    }

    function day(text) {
      var date = parseIso(text);
      if (!date) {
        return text || '';
      }
      if (lang() === 'ru') {
        return pad(date.getDate()) + '.' + pad(date.getMonth() + 1) + '.' + date.getFullYear();
      }
      return date.toLocaleDateString('en-GB', {day: '2-digit', month: 'short', year: 'numeric'});
    }

    function timestamp(text) {
      return text ? day(isoDate(new Date(text))) : '';
    }

    function settings() {
      return self.get_settings() || {};
    }

    function backendUrl() {
      return String(settings().backend_url || '').trim().replace(/\/+$/, '');
    }

    function currentLeadId() {
      var app = window.AMOCRM || window.APP || {};
      var card = app.data && app.data.current_card;
      return card && card.id ? parseInt(card.id, 10) : 0;
    }

    function managers() {
      var amo = window.AMOCRM;
      var list = (amo && amo.constant && amo.constant('managers')) || {};
      return _.map(list, function (manager, id) {
        return {id: parseInt(manager.id || id, 10), name: manager.title || manager.name || String(id),
          active: manager.active !== false};
      });
    }

    function managerName(id) {
      var found = _.findWhere(managers(), {id: id});
      return found ? found.name : (id ? tf('analytics.manager_fallback', {id: id}) : '');
    }

    function isAdmin() {
      var amo = window.AMOCRM;
      var constant = function (name) { return (amo && amo.constant && amo.constant(name)) || {}; };
      var flag = function (value) { return value === true || value === 'Y'; };
      var user = constant('user');
      if (user.is_admin !== undefined) {
        return flag(user.is_admin);
      }
      if (constant('user_rights').is_admin !== undefined) {
        return flag(constant('user_rights').is_admin);
      }
      var me = String((self.system() || {}).amouser_id || '');
      return _.some(constant('managers'), function (manager, id) {
        return String(manager.id || id) === me && flag(manager.is_admin);
      });
    }

    function template(name) {
      if (!templates[name]) {
        var loading = $.Deferred();
        templates[name] = loading.promise();
        self.render({href: '/templates/' + name + '.twig', base_path: self.params.path, v: settings().version,
          load: function (compiled) { loading.resolve(compiled); }}, {});
        // The platform reports no failure to load a template: give up after a while instead of waiting forever.
        setTimeout(function () {
          if (loading.state() === 'pending') {
            delete templates[name];
            loading.reject({status: 0, code: 'template', message: t('errors.template'), fields: {}});
          }
        }, REQUEST_TIMEOUT_MS);
      }
      return templates[name];
    }

    // ---- the PayPlan API ------------------------------------------------------------------------

    function fallbackMessage(status, textStatus) {
      if (!status) {
        return t(textStatus === 'timeout' ? 'errors.timeout' : 'errors.unreachable');
      }
      if (status === 404) {
        return t('errors.not_available');
      }
      return status >= 500 ? t('errors.server') : tf('errors.http', {status: status});
    }

    function problem(xhr, textStatus) {
      var status = (xhr && xhr.status) || 0;
      var body = xhr && xhr.responseJSON;
      if (!body && xhr && typeof xhr.responseText === 'string') {
        try {
          body = JSON.parse(xhr.responseText);
        } catch (ignored) {
          body = null;
        }
      }
      var error = (body && body.error) || {};
      var known = status && error.message;
      return {
        status: status,
        code: error.code || (status ? 'http_' + status : textStatus || 'unreachable'),
        message: known ? error.message : fallbackMessage(status, textStatus),
        fields: (known && error.fields) || {},
        // The server has answered: nothing was written, and a corrected request is a new request.
        definitive: status >= 400 && status < 500
      };
    }

    function unconfigured() {
      return $.Deferred().reject({status: 0, code: 'no_backend_url', message: t('errors.no_backend_url'),
        fields: {}, definitive: true}).promise();
    }

    function call(options) {
      var result = $.Deferred();
      try {
        self.$authorizedAjax(options)
          .done(function (data, textStatus, xhr) { result.resolve(data, xhr); })
          .fail(function (xhr, textStatus) { result.reject(xhr, textStatus); });
      } catch (error) {
        result.reject(null, 'error');
      }
      return result.promise();
    }

    function api(method, path, payload, idempotencyKey) {
      if (!backendUrl()) {
        return unconfigured();
      }
      var options = {url: backendUrl() + '/api/v1' + path, type: method, dataType: 'json',
        timeout: REQUEST_TIMEOUT_MS, headers: {'Accept-Language': lang()}};
      if (method === 'GET') {
        options.data = payload;
      } else {
        options.data = JSON.stringify(payload || {});
        options.contentType = 'application/json';
      }
      if (idempotencyKey) {
        options.headers['Idempotency-Key'] = idempotencyKey;
      }
      return call(options).then(function (data) { return data; }, function (xhr, textStatus) {
        return $.Deferred().reject(problem(xhr, textStatus)).promise();
      });
    }

    // jQuery keeps no binary body on its jqXHR: an error's JSON is read from the native request.
    function blobProblem(native, xhr, textStatus) {
      var reply = $.Deferred();
      var blob = native && native.response;
      if (!(blob instanceof Blob) || !xhr || !xhr.status) {
        return reply.resolve(problem(xhr, textStatus)).promise();
      }
      blob.text().then(function (text) {
        reply.resolve(problem({status: xhr.status, responseText: text}, textStatus));
      }, function () { reply.resolve(problem({status: xhr.status}, textStatus)); });
      return reply.promise();
    }

    // Documents and exports need the token too, so they are fetched as blobs rather than opened as links.
    // 202 means a worker is still rendering it: the answer says so, with the seconds to wait.
    function fetchFile(request) {
      if (!backendUrl()) {
        return unconfigured();
      }
      var native = null;
      var options = _.extend({type: 'GET', timeout: DOWNLOAD_TIMEOUT_MS}, request, {
        url: backendUrl() + request.url, headers: {'Accept-Language': lang()}, xhrFields: {responseType: 'blob'},
        xhr: function () {
          native = new window.XMLHttpRequest();
          return native;
        }});
      var queued = function (xhr) {
        var seconds = parseInt(xhr.getResponseHeader('Retry-After'), 10);
        return {queued: true, retryAfter: seconds > 0 ? seconds : 5};
      };
      return call(options).then(function (blob, xhr) {
        return xhr && xhr.status === 202 ? queued(xhr) : {blob: blob, filename: filenameFrom(xhr, '')};
      }, function (xhr, textStatus) {
        // jQuery cannot read a JSON body from a blob request, so it fails the 202 "still rendering" answer.
        if (xhr && xhr.status === 202) {
          return $.Deferred().resolve(queued(xhr)).promise();
        }
        return blobProblem(native, xhr, textStatus).then(function (error) {
          return $.Deferred().reject(error).promise();
        });
      });
    }

    function download(url, params, filename) {
      return fetchFile({url: url, data: params}).then(function (file) {
        if (!file.queued) {
          saveBlob(file.blob, file.filename || filename);
        }
        return file;
      });
    }

    // ---- dialogs ------------------------------------------------------------------------------

    function openDialog(kind, html) {
      closeDialog();
      dialog = {kind: kind, key: newKey(), busy: false, touched: {}, previewSeq: 0};
      modal = new Modal({
        class_name: 'modal-window payplan-modal-window payplan-modal-' + kind,
        init: function ($body) {
          $body.trigger('modal:loaded').html(html).trigger('modal:centrify')
            .append('<span class="modal-body__close"><span class="icon icon-modal-close"></span></span>');
        },
        destroy: function () {
          clearTimeout(timers.preview);
          dialog = null;
          modal = null;
          return true;
        }
      });
      return dialogRoot();
    }

    function closeDialog() {
      if (modal) {
        modal.destroy();
      }
      modal = null;
      dialog = null;
    }

    function dialogRoot() {
      return dialog ? $('.payplan-dialog[data-dialog="' + dialog.kind + '"]') : $();
    }

    function clearErrors($root) {
      $root.find('.payplan-field-error').text('').hide();
      $root.find('.has-error').removeClass('has-error');
      $root.find('.payplan-alert').text('').hide();
    }

    function errorSlot($root, key) {
      var parts = key.split('.');
      while (parts.length) {
        var $slot = $root.find('[data-error-for="' + parts.join('.') + '"]');
        if ($slot.length) {
          return $slot.first();
        }
        parts.pop();
      }
      return null;
    }

    function showErrors($root, error, onlyKeys) {
      clearErrors($root);
      var unplaced = [];
      _.each(error.fields || {}, function (messages, key) {
        if (onlyKeys && !onlyKeys(key)) {
          return;
        }
        var text = [].concat(messages).join(' ');
        var $slot = key === 'non_field_errors' ? null : errorSlot($root, key);
        if ($slot) {
          $slot.text(text).show().closest('.payplan-field').addClass('has-error');
        } else {
          unplaced.push(text);
        }
      });
      if (!onlyKeys && (unplaced.length || !_.size(error.fields))) {
        $root.find('.payplan-alert').first().text(unplaced.length ? unplaced.join(' ') : error.message).show();
      }
    }

    function setBusy($root, busy) {
      $root.find('[data-payplan-submit]').prop('disabled', busy).toggleClass('is-busy', busy);
    }

    // One Idempotency-Key per dialog: a repeated click or a retry after a lost answer is the same request.
    function submit(method, path, body, onDone) {
      var current = dialog;
      if (!current || current.busy) {
        return;
      }
      var $root = dialogRoot();
      current.busy = true;
      setBusy($root, true);
      clearErrors($root);
      api(method, path, body, current.key).then(function (data) {
        current.busy = false;
        closeDialog();
        onDone(data);
      }, function (error) {
        current.busy = false;
        if (error.definitive) {
          current.key = newKey();
        }
        setBusy($root, false);
        showErrors($root, error.status ? error : _.extend({}, error, {
          message: error.message + ' ' + t('errors.retry_safe')}));
      });
    }

    function fieldValue($root, name) {
      return String($root.find('[name="' + name + '"]').val() || '').trim();
    }

    function putMoney(body, key, text) {
      if (text !== '') {
        body[key] = normalizedAmount(text);
      }
    }

    function rowsOf($root, list, names) {
      return _.map($root.find('[data-row-of="' + list + '"]'), function (row) {
        var values = {};
        _.each(names, function (name) {
          values[name] = String($(row).find('[data-name="' + name + '"]').val() || '').trim();
        });
        return values;
      });
    }

    function renumberRows($root, list) {
      $root.find('[data-row-of="' + list + '"]').each(function (index, row) {
        $(row).find('[data-name]').each(function () {
          var name = list + '.' + index + '.' + $(this).attr('data-name');
          $(this).attr('name', name);
          $(this).siblings('.payplan-field-error').attr('data-error-for', name);
        });
      });
    }

    function addRow($root, list) {
      var html = $root.find('script[data-row-template="' + list + '"]').html() || '';
      $root.find('[data-rows="' + list + '"]').append(html);
      renumberRows($root, list);
    }

    // ---- the deal card panel ------------------------------------------------------------------

    function panelRoot() {
      return $('#payplan-panel');
    }

    function loadingHtml() {
      return '<div class="payplan-state"><span class="payplan-spinner"></span>' + escapeHtml(t('panel.loading')) +
        '</div>';
    }

    function errorHtml(error) {
      var headline = {401: 'errors.token', 403: 'errors.forbidden'}[error.status] ||
        (error.status ? 'errors.panel' : 'errors.offline');
      return '<div class="payplan-state payplan-state--error" role="alert">' +
        '<div class="payplan-state__title">' + escapeHtml(t(headline)) + '</div>' +
        '<div class="payplan-state__text">' + escapeHtml(error.message) + '</div>' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="retry">' +
        escapeHtml(t('common.retry')) + '</button></div>';
    }

    function loadDeal(quiet) {
      var leadId = currentLeadId();
      var seq = panel.seq += 1;
      if (!quiet) {
        panelRoot().html(loadingHtml());
      }
      return $.when(template('panel'), api('GET', '/deals/' + leadId)).then(function (compiled, deal) {
        if (seq === panel.seq) {
          panel.deal = deal;
          panel.etag = null;
          panel.error = null;
          renderPanel(compiled);
        }
      }, function (error) {
        if (seq === panel.seq) {
          panel.error = error;
          panelRoot().html(errorHtml(error));
        }
      });
    }

    function lineModel(line, currency, outgoing) {
      var paidCents = kopecks(line.paid) || 0;
      return _.extend({
        seq: line.seq, date: day(line.due_date), amount: money(line.amount, currency),
        paid: paidCents ? money(line.paid, currency) : '', status: line.status,
        status_label: word('line_status.' + line.status, outgoing),
        note: line.kind === 'regular' ? '' : (line.label || t('kind.' + line.kind)),
        invoice_url: line.invoice && line.invoice.status === 'issued' ? line.invoice.payment_url : '',
        failure: line.invoice && line.invoice.failure ? tf('panel.declined', {reason: line.invoice.failure.reason_text}) : ''
      }, interestLineModel(line, currency));
    }

    function panelModel(deal) {
      var currency = deal.currency;
      var schedule = deal.schedule;
      var totalCents = kopecks(deal.total) || 0;
      var paidCents = kopecks(deal.paid) || 0;
      var outgoing = deal.direction === 'outgoing';
      var lines = schedule ? schedule.installments : [];
      return {
        t: texts(outgoing),
        lead_id: deal.lead_id,
        status: deal.status,
        status_label: word('status.' + deal.status, outgoing),
        direction_label: outgoing ? t('panel.outgoing') : '',
        outgoing: outgoing,
        has_plan: deal.status !== 'no_plan' && !!schedule,
        open: panel.open,
        labels: [deal.group, deal.education_direction].filter(Boolean).join(' · '),
        total: money(deal.total, currency),
        paid: money(deal.paid, currency),
        debt: money(deal.debt, currency),
        debt_zero: (kopecks(deal.debt) || 0) === 0,
        overdue: (kopecks(deal.overdue_amount) || 0) > 0 ? money(deal.overdue_amount, currency) : '',
        progress: totalCents > 0 ? Math.min(100, Math.round(paidCents * 100 / totalCents)) : 0,
        next_due: deal.next_due ? tf('panel.next_due_value', {date: day(deal.next_due.due_date),
          amount: money(deal.next_due.amount, currency)}) : '',
        version: schedule && schedule.version ? tf('panel.version', {version: schedule.version}) : '',
        lines_progress: planLinesProgress(lines, outgoing),
        can_pay: _.contains(PAYABLE, deal.status) && (kopecks(deal.debt) || 0) > 0,
        can_invoice: !outgoing && _.some(lines, function (line) { return _.contains(OPEN_LINES, line.status); }),
        documents: _.map(_.filter(DEAL_DOCUMENTS, function (kind) {
          return kind !== 'schedule' || (deal.status !== 'no_plan' && !!schedule);
        }), function (kind) { return {kind: kind, label: t('panel.doc_' + kind)}; }),
        lines: _.map(lines, function (line) { return lineModel(line, currency, outgoing); }),
        lines_paid: _.where(lines, {status: 'paid'}).length,
        autopay: outgoing ? null : autopayModel(deal),
        invoices: _.map(deal.invoices.slice().reverse(), function (invoice) {
          return {id: invoice.id, number: invoice.number, amount: money(invoice.amount, currency),
            status: invoice.status, status_label: t('invoice_status.' + invoice.status),
            date: timestamp(invoice.issued_at), seq: invoice.installment_seq,
            payment_url: invoice.status === 'issued' ? invoice.payment_url : '', pdf: !!invoice.pdf_url,
            failure: invoice.failure ? tf('panel.declined', {reason: invoice.failure.reason_text}) : ''};
        }),
        payments: _.map(deal.payments.slice().reverse(), function (payment) {
          return paymentRowModel(payment, currency, outgoing);
        })
      };
    }

    // Why, who and when of a storno or refund, as one line of the payment history.
    function correctionText(key, correction) {
      return tf(key, {reason: correction.reason || '—',
        who: correction.by ? managerName(correction.by) : t('panel.gateway_user'), when: timestamp(correction.at)});
    }

    function paymentRowModel(payment, currency, outgoing) {
      var kind = payment.kind || 'payment';
      var positive = (kopecks(payment.amount) || 0) > 0;
      var refundable = kopecks(payment.refundable) || 0;
      var refundedCents = _.reduce(payment.refunds || [], function (sum, refund) {
        return sum + (kopecks(refund.amount) || 0);
      }, 0);
      var correction = kind === 'payment' ? '' : correctionText(kind === 'storno' ? 'panel.storno_line' : 'panel.refund_line',
        {reason: payment.reason, by: payment.recorded_by, at: payment.recorded_at});
      return {id: payment.id, kind: kind, amount: money(payment.amount, currency), date: day(payment.paid_at),
        method: kind === 'payment' ? t('method.' + payment.method)
          : t(kind === 'storno' ? 'panel.storno' : 'panel.refund_entry') + ' · ' + t('method.' + payment.method),
        comment: kind === 'payment' ? payment.comment : '',
        receipt: !outgoing && positive && kind === 'payment' && payment.method !== 'opening_balance',
        can_reverse: !!payment.can_reverse && !payment.reversal,
        can_refund: refundable > 0 && isAdmin(),
        correction: correction,
        reversed: payment.reversal ? correctionText('panel.reversed_by', payment.reversal) : '',
        refunded: refundedCents ? tf('panel.refunded_part', {amount: money(amountString(refundedCents), currency)}) : ''};
    }

    // ---- autopay: the client's saved card on the deal card, and the manager's switch-off --------------

    function autopayModel(deal) {
      var autopay = deal.autopay;
      if (!autopay || (!autopay.offered && !autopay.card)) {
        return null;
      }
      var card = autopay.card;
      var state = autopay.enabled ? 'active' : (card ? card.status : 'waiting');
      return {
        state: state,
        card: card ? tf('panel.autopay_card', {last_four: card.last_four || '····', exp: card.exp || '—'}) : '',
        state_label: t('panel.autopay_state_' + state),
        can_disable: !!autopay.enabled
      };
    }

    // Two clicks: the first asks, the second switches autopay off (no browser confirm() inside amoCRM).
    function disableAutopay($button) {
      if (!$button.attr('data-confirm')) {
        $button.attr('data-confirm', '1').text(t('panel.autopay_disable_confirm'));
        return;
      }
      $button.prop('disabled', true);
      api('DELETE', '/deals/' + currentLeadId() + '/autopay').then(function () {
        return loadDeal(true);
      }).then(function () {
        flash(t('panel.autopay_disabled'));
      }, function (error) {
        $button.prop('disabled', false);
        flash(error.message, 'error');
      });
    }

    // [I] "3 of 6 paid" on the card: the active plan's lines paid in full, as analytics/plan-progress counts them.
    function planLinesProgress(lines, outgoing) {
      if (!lines || !lines.length) {
        return '';
      }
      var paid = _.filter(lines, function (line) { return (kopecks(line.paid) || 0) >= (kopecks(line.amount) || 0); });
      return tf(outgoing ? 'payout.lines_progress' : 'figures.progress', {paid: paid.length, total: lines.length});
    }

    function renderPanel(compiled) {
      // A live update re-draws the card; a message the manager is reading stays where it is.
      var $flash = panelRoot().find('.payplan-flash').detach();
      panelRoot().html(compiled.render(panelModel(panel.deal))).prepend($flash);
      panelRoot().find('.payplan-actions').first().before(subscriptionBoxHtml(panel.deal));
      clientPageLoad();
      remindersLoad();
      autoPayoutsLoad();
    }

    function refreshPanel() {
      template('panel').then(function (compiled) {
        if (panel.deal) {
          renderPanel(compiled);
        }
      });
    }

    function flash(message, tone) {
      var $flash = panelRoot().find('.payplan-flash');
      if (!$flash.length) {
        $flash = $('<div class="payplan-flash" role="status"></div>').prependTo(panelRoot());
      }
      $flash.attr('data-tone', tone || 'ok').text(message).show();
      clearTimeout(timers.flash);
      timers.flash = setTimeout(function () { $flash.fadeOut(200); }, FLASH_MS);
    }

    function afterDeal(deal, message) {
      panel.seq += 1;  // an answer to a question asked before this one is older than this deal
      panel.deal = deal;
      panel.etag = null;
      refreshPanel();
      setTimeout(function () { flash(message); }, 0);
    }

    function dialogFailed(error) {
      flash(error.message, 'error');
    }

    // ---- the live card: poll the deal's ETag while the card is visible -------------------------

    function pollDeal() {
      var leadId = currentLeadId();
      if (document.hidden || panel.polling || !panel.deal || !leadId || !panelRoot().length || !backendUrl()) {
        return;
      }
      var seq = panel.seq;
      panel.polling = true;
      var headers = {'Accept-Language': lang()};
      if (panel.etag) {
        headers['If-None-Match'] = panel.etag;
      }
      call({url: backendUrl() + '/api/v1/deals/' + leadId, type: 'GET', dataType: 'json', timeout: REQUEST_TIMEOUT_MS,
        headers: headers}).then(function (deal, xhr) {
        // A newer load, a dialog's answer or another lead since the question was asked: this answer is stale.
        if (seq !== panel.seq || leadId !== currentLeadId()) {
          return;
        }
        panel.etag = (xhr && xhr.getResponseHeader && xhr.getResponseHeader('ETag')) || panel.etag;
        if (!deal || (xhr && xhr.status === 304)) {
          return;
        }
        panel.deal = deal;
        refreshPanel();
      }).always(function () { panel.polling = false; });
    }

    function startPolling() {
      clearInterval(timers.poll);
      timers.poll = setInterval(pollDeal, POLL_MS);
      $(document).off('visibilitychange' + NS).on('visibilitychange' + NS, function () {
        if (!document.hidden) {
          pollDeal();
        }
      });
      $(window).off('focus' + NS).on('focus' + NS, pollDeal);
    }

    // ---- corrections: storno of an offline payment, refund of an online one -------------------

    function openCorrection(kind, id) {
      var deal = panel.deal;
      var payment = _.findWhere(deal ? deal.payments : [], {id: id});
      if (!payment) {
        return;
      }
      template('correction').then(function (compiled) {
        openDialog('correction', compiled.render({t: texts(), kind: kind, payment: {
          id: payment.id, amount: money(payment.amount, deal.currency), date: day(payment.paid_at),
          refundable: payment.refundable ? money(payment.refundable, deal.currency) : '',
          refundable_input: payment.refundable || ''}}));
      }, dialogFailed);
    }

    function saveCorrection() {
      var $root = dialogRoot();
      var kind = $root.attr('data-correction');
      var body = {reason: fieldValue($root, 'reason')};
      if (kind === 'refund') {
        putMoney(body, 'amount', fieldValue($root, 'amount'));
      }
      submit('POST', '/payments/' + $root.attr('data-payment') + '/' + kind, body, function (deal) {
        afterDeal(deal, tf(kind === 'refund' ? 'correction.refunded' : 'correction.reversed',
          {debt: money(deal.debt, deal.currency)}));
      });
    }

    // ---- the schedule dialog -------------------------------------------------------------------

    function regularLines(schedule) {
      return _.filter(schedule ? schedule.installments : [], function (line) { return line.kind === 'regular'; });
    }

    function dueDayCode(value) {
      return value === undefined || value === null ? '' : String(value);
    }

    // The active version's stored request names every choice (the server fills defaults and rebuilds old
    // versions' requests from their lines), so the dialog opens with exactly the plan in force; the lines
    // are only a fallback for a server that does not send it.
    function scheduleDefaults(deal) {
      var schedule = deal.schedule;
      var sent = (schedule && schedule.request) || {};
      var today = new Date();
      var regular = regularLines(schedule);
      var lines = schedule ? schedule.installments : [];
      var extras = _.where(lines, {kind: 'extra'});
      var down = _.findWhere(lines, {kind: 'down_payment'});
      var extraCents = _.reduce(extras, function (sum, line) { return sum + (kopecks(line.amount) || 0); }, 0);
      var has = function (key) { return _.has(sent, key); };
      var byAmount = has('installment_amount') && sent.installment_amount !== null && !sent.installments_count;
      return {
        plan: sent.plan || (schedule && schedule.plan) || (!schedule ? 'equal' : (regular.length === 1 && !down ? 'full' : 'equal')),
        period: sent.period || 'month',
        rounding: sent.rounding ? String(sent.rounding) : '0.01',
        total: has('total') ? sent.total : (schedule ? amountString((kopecks(schedule.total) || 0) - extraCents) : ''),
        already_paid: (kopecks(has('already_paid') ? sent.already_paid : schedule && schedule.already_paid) || 0)
          ? (has('already_paid') ? sent.already_paid : schedule.already_paid) : '',
        equal_by: byAmount ? 'amount' : 'count',
        installments_count: sent.installments_count || regular.length || 6,
        installment_amount: byAmount ? sent.installment_amount : '',
        first_due_date: sent.first_due_date || (regular.length ? regular[0].due_date : isoDate(addMonths(today, 1))),
        due_day: dueDayCode(sent.due_day),
        down_payment: has('down_payment') ? sent.down_payment : (down ? {amount: down.amount, due_date: down.due_date} : null),
        extra_charges: has('extra_charges') ? sent.extra_charges : _.map(extras, function (line) {
          return {label: line.label, amount: line.amount, due_date: line.due_date};
        }),
        items: has('items') && sent.items.length ? sent.items
          : _.map(regular, function (line) { return {due_date: line.due_date, amount: line.amount}; }),
        direction: sent.direction || deal.direction || 'incoming',
        group: has('group') ? sent.group : (deal.group || ''),
        education_direction: has('education_direction') ? sent.education_direction : (deal.education_direction || ''),
        autopay: !!sent.autopay,
        payoff_mode: sent.payoff_mode || '',  // [J] blank: the account's rule
        manager_id: sent.manager_id ? String(sent.manager_id) : '',
        requisites: deal.payout_requisites || '',
        recurring_price: deal.subscription ? deal.subscription.price : '',
        recurring_period: deal.subscription && _.contains(['week', '2weeks'], deal.subscription.period) ? 'week' : 'month',
        every: deal.subscription ? deal.subscription.every * (deal.subscription.period === '2weeks' ? 2
          : (deal.subscription.period === 'quarter' ? 3 : 1)) : 1
      };
    }

    function choices(codes, labelOf, selected) {
      return _.map(codes, function (code) {
        return {code: code, label: labelOf(code), selected: String(code) === String(selected)};
      });
    }

    function scheduleModel(deal) {
      var values = scheduleDefaults(deal);
      var label = function (prefix) { return function (code) { return t(prefix + code); }; };
      return _.extend({
        t: texts(), values: values, rebuild: !!deal.schedule,
        plans: choices(['equal', 'full', 'custom', 'recurring'], label('schedule.plan_'), values.plan)
          .concat(choices(INTEREST_PLANS, label('interest.plan_'), values.plan)),
        recurring_periods: choices(['month', 'week'], label('schedule.recurring_period_'), values.recurring_period),
        periods: choices(['month', '2weeks', 'week', 'quarter'], label('period.'), values.period),
        roundings: choices(['0.01', '1', '100'], function (code) { return t('schedule.rounding_' + ROUNDING_KEYS[code]); },
          values.rounding),
        days: choices([''].concat(['last'], _.range(1, 32)), function (code) {
          return code === '' ? t('schedule.due_day_same') : (code === 'last' ? t('schedule.due_day_last') : String(code));
        }, values.due_day),
        directions: choices(['incoming', 'outgoing'], label('schedule.direction_'), values.direction),
        managers: _.map(_.filter(managers(), function (manager) {
          return manager.active || String(manager.id) === values.manager_id;
        }), function (manager) { return _.extend({selected: String(manager.id) === values.manager_id}, manager); })
          .concat(values.manager_id && !_.findWhere(managers(), {id: parseInt(values.manager_id, 10)})
            ? [{id: values.manager_id, name: managerName(parseInt(values.manager_id, 10)), selected: true}] : []),
        groups: analytics.options ? analytics.options.groups : [],
        education_directions: analytics.options ? analytics.options.education_directions : []
      }, interestScheduleModel(deal));
    }

    function scheduleBody($root) {
      var plan = $root.find('[name="plan"]:checked').val() || 'equal';
      var body = {plan: plan, direction: fieldValue($root, 'direction') || 'incoming',
        group: fieldValue($root, 'group'), education_direction: fieldValue($root, 'education_direction'),
        autopay: $root.find('[name="autopay"]').is(':checked'), payoff_mode: fieldValue($root, 'payoff_mode')};
      if (plan === 'recurring') {
        return recurringScheduleBody($root, body);
      }
      putMoney(body, 'total', fieldValue($root, 'total'));
      putMoney(body, 'already_paid', fieldValue($root, 'already_paid'));
      if (plan !== 'custom' && fieldValue($root, 'first_due_date')) {
        body.first_due_date = fieldValue($root, 'first_due_date');
      }
      if (plan === 'equal' || _.contains(INTEREST_PLANS, plan)) {
        if ($root.find('[name="equal_by"]:checked').val() === 'amount') {
          putMoney(body, 'installment_amount', fieldValue($root, 'installment_amount'));
        } else {
          var count = fieldValue($root, 'installments_count');
          body.installments_count = /^\d+$/.test(count) ? parseInt(count, 10) : count || null;
        }
        body.period = fieldValue($root, 'period') || 'month';
        if (fieldValue($root, 'due_day') && _.contains(['month', 'quarter'], body.period)) {
          body.due_day = fieldValue($root, 'due_day') === 'last' ? 'last' : parseInt(fieldValue($root, 'due_day'), 10);
        }
        body.rounding = fieldValue($root, 'rounding') || '0.01';
      }
      if (_.contains(INTEREST_PLANS, plan)) {
        interestScheduleBody($root, body);
      }
      if (plan === 'custom') {
        body.items = _.map(rowsOf($root, 'items', ['due_date', 'amount']), function (row) {
          return {due_date: row.due_date || null, amount: row.amount === '' ? null : normalizedAmount(row.amount)};
        });
      }
      if (plan !== 'full' && $root.find('[name="has_down_payment"]').is(':checked')) {
        body.down_payment = {amount: normalizedAmount(fieldValue($root, 'down_payment.amount')),
          due_date: fieldValue($root, 'down_payment.due_date') || null};
      }
      body.extra_charges = _.map(rowsOf($root, 'extra_charges', ['label', 'amount', 'due_date']), function (row) {
        return {label: row.label, amount: row.amount === '' ? null : normalizedAmount(row.amount),
          due_date: row.due_date || null};
      });
      if (fieldValue($root, 'manager_id')) {
        body.manager_id = parseInt(fieldValue($root, 'manager_id'), 10);
      }
      if (body.direction === 'outgoing') {
        body.requisites = fieldValue($root, 'requisites');
      }
      return body;
    }

    // ---- open-ended recurring plans (subscriptions): the builder's body, the card's buttons ------------

    function recurringScheduleBody($root, body) {
      var every = fieldValue($root, 'every');
      putMoney(body, 'installment_amount', fieldValue($root, 'recurring_price'));
      body.period = fieldValue($root, 'recurring_period') || 'month';
      body.every = /^\d+$/.test(every) ? parseInt(every, 10) : (every || 1);
      if (fieldValue($root, 'first_due_date')) {
        body.first_due_date = fieldValue($root, 'first_due_date');
      }
      if (fieldValue($root, 'manager_id')) {
        body.manager_id = parseInt(fieldValue($root, 'manager_id'), 10);
      }
      if (body.direction === 'outgoing') {
        body.requisites = fieldValue($root, 'requisites');
      }
      return body;
    }

    function subscriptionBoxHtml(deal) {
      var subscription = deal && deal.subscription;
      if (!subscription) {
        return '';
      }
      var state = subscription.state;
      var every = subscription.every > 1 ? tf('subscription.every_' + (subscription.period === 'week' ? 'weeks' : 'months'),
        {count: subscription.every}) : t('subscription.once_' + (subscription.period === 'week' ? 'week' : 'month'));
      var button = function (name, primary) {
        return '<button type="button" class="payplan-button' + (primary ? '' : ' payplan-button--secondary') +
          '" data-payplan-action="subscription" data-subscription-action="' + name + '">' +
          escapeHtml(t('subscription.' + name)) + '</button>';
      };
      var html = '<div class="payplan-subscription payplan-panel-box" data-subscription-state="' + escapeHtml(state) + '">' +
        '<div class="payplan-panel-box__title">' + escapeHtml(t('subscription.title')) + '</div>' +
        '<div class="payplan-subscription__line">' + escapeHtml(t('subscription.state_' + state)) + ' · ' +
        escapeHtml(money(subscription.price)) + ' ' + escapeHtml(every) + '</div>' +
        (subscription.reason ? '<div class="payplan-muted">' + escapeHtml(tf('subscription.last_reason',
          {reason: subscription.reason})) + '</div>' : '');
      if (state === 'cancelled') {
        return html + '</div>';
      }
      html += '<div class="payplan-field"><input class="payplan-input" name="subscription_reason" maxlength="500" placeholder="' +
        escapeHtml(t('subscription.reason')) + '"></div>';
      if (state === 'active') {
        html += '<div class="payplan-field"><input class="payplan-input payplan-input--money" name="subscription_price" ' +
          'inputmode="decimal" placeholder="' + escapeHtml(t('subscription.new_price')) + '">' +
          '<div class="payplan-field-error" data-error-for="price"></div></div>' +
          button('price', true) + button('pause');
      } else {
        html += button('resume', true);
      }
      return html + button('cancel') + '</div>';
    }

    function changeSubscription($button) {
      var $box = $button.closest('.payplan-subscription');
      var body = {action: $button.attr('data-subscription-action'), reason: fieldValue($box, 'subscription_reason')};
      if (body.action === 'price') {
        putMoney(body, 'price', fieldValue($box, 'subscription_price'));
      }
      $button.prop('disabled', true).addClass('is-busy');
      // One key per click: a retry of a lost answer is the same change, a second click another one.
      var key = 'subscription-' + currentLeadId() + '-' + Date.now() + '-' + Math.random().toString(36).slice(2);
      api('POST', '/deals/' + currentLeadId() + '/subscription', body, key).then(function (deal) {
        afterDeal(deal, t('subscription.saved_' + body.action));
      }, function (error) {
        $button.prop('disabled', false).removeClass('is-busy');
        showErrors($box, error);
        flash(error.message, 'error');
      });
    }

    function syncScheduleForm($root) {
      var plan = $root.find('[name="plan"]:checked').val() || 'equal';
      var by = $root.find('[name="equal_by"]:checked').val() || 'count';
      var monthly = _.contains(['month', 'quarter'], fieldValue($root, 'period') || 'month');
      var down = $root.find('[name="has_down_payment"]').is(':checked');
      $root.find('[data-plans], [data-equal-by], [data-monthly-only], [data-down-payment]').each(function () {
        var $part = $(this);
        var plans = $part.attr('data-plans');
        $part.toggle((!plans || _.contains(plans.split(' '), plan)) &&
          (!$part.is('[data-equal-by]') || $part.attr('data-equal-by') === by) &&
          (!$part.is('[data-monthly-only]') || monthly) && (!$part.is('[data-down-payment]') || down));
      });
      $root.find('[data-outgoing-only]').toggle(fieldValue($root, 'direction') === 'outgoing');
      $root.find('[data-first-date-label]').each(function () {
        $(this).toggle($(this).attr('data-first-date-label') === (plan === 'full' ? 'full' : 'equal'));
      });
    }

    function openSchedule() {
      var deal = panel.deal;
      $.when(template('schedule'), template('preview')).then(function (compiled) {
        var $root = openDialog('schedule', compiled.render(scheduleModel(deal)));
        if (!deal.schedule) {
          addRow($root, 'items');
        } else {
          renumberRows($root, 'items');
        }
        renumberRows($root, 'extra_charges');
        syncScheduleForm($root);
        previewSoon(0);
        suggestLabels($root);
      }, dialogFailed);
    }

    // The account's known groups and directions as suggestions; the dialog works without them.
    function suggestLabels($root) {
      api('GET', '/analytics/filters').then(function (options) {
        analytics.options = options;
        _.each({'#payplan-groups': options.groups, '#payplan-education-directions': options.education_directions},
          function (values, selector) {
            $root.find(selector).html(_.map(values, function (value) {
              return '<option value="' + escapeHtml(value) + '">';
            }).join(''));
          });
      });
    }

    function previewSoon(delay) {
      clearTimeout(timers.preview);
      timers.preview = setTimeout(preview, delay);
    }

    function touchedKey(key) {
      if (!dialog) {
        return false;
      }
      return _.some(_.keys(dialog.touched), function (name) {
        return name === key || name.indexOf(key + '.') === 0 || key.indexOf(name + '.') === 0;
      });
    }

    function preview() {
      var $root = dialogRoot();
      if (!dialog || dialog.kind !== 'schedule' || !$root.length) {
        return;
      }
      var current = dialog;
      var seq = current.previewSeq += 1;
      var $preview = $root.find('.payplan-preview');
      $preview.addClass('is-updating');
      $.when(template('preview'), api('POST', '/deals/' + currentLeadId() + '/schedule/preview',
        scheduleBody($root))).then(function (compiled, plan) {
        if (current !== dialog || seq !== current.previewSeq) {
          return;
        }
        clearErrors($root);
        $preview.removeClass('is-updating').html(compiled.render(previewModel(plan)));
      }, function (error) {
        if (current !== dialog || seq !== current.previewSeq) {
          return;
        }
        showErrors($root, error, touchedKey);
        $preview.removeClass('is-updating').html('<div class="payplan-preview__hint">' +
          escapeHtml(error.status === 422 ? t('schedule.preview_incomplete') : error.message) + '</div>' +
          (error.status === 422 ? '<div class="payplan-preview__reason">' + escapeHtml(error.message) + '</div>' : ''));
      });
    }

    function lineSideText(side, currency) {
      return side ? day(side.due_date) + ' · ' + money(side.amount, currency) + interestSideText(side, currency) : '—';
    }

    function changeValueText(field, value, currency) {
      if (value === null || value === undefined || value === '') {
        return t('changes.empty');
      }
      if (field === 'total' || field === 'already_paid') {
        return money(value, currency);
      }
      if (field === 'direction') {
        return t('schedule.direction_' + value);
      }
      if (field === 'autopay') {
        return t(value ? 'changes.yes' : 'changes.no');
      }
      return field === 'manager_id' ? managerName(value) : String(value);
    }

    // Was and becomes against the active version, as the server computed it (null for a first plan).
    function changesModel(changes, currency) {
      if (!changes) {
        return null;
      }
      var invoice = function (ref) {
        return {number: ref.number, amount: money(ref.new_amount || ref.amount, currency),
          date: ref.due_date ? day(ref.due_date) : ''};
      };
      return {
        unchanged: changes.unchanged,
        lines: _.map(changes.lines, function (line) {
          var side = line.becomes || line.was;
          return {seq: line.seq, change: line.change,
            title: tf('changes.line', {seq: line.seq}) + (side.kind === 'regular' ? '' : ' · ' + (side.label || t('kind.' + side.kind))),
            note: line.change === 'changed' ? '' : t('changes.' + line.change),
            was: lineSideText(line.was, currency), becomes: lineSideText(line.becomes, currency)};
        }),
        fields: _.map(_.filter(changes.fields, function (change) { return _.contains(CHANGE_FIELDS, change.field); }),
          function (change) {
            return {field: change.field, title: t('changes.field_' + change.field),
              was: changeValueText(change.field, change.was, currency),
              becomes: changeValueText(change.field, change.becomes, currency)};
          }),
        cancelled: _.map(changes.invoices_cancelled, invoice),
        reissued: _.map(changes.invoices_reissued, invoice),
        kept: _.map(changes.invoices_kept, invoice)
      };
    }

    function previewModel(plan) {
      var currency = plan.currency;
      var outgoing = plan.direction === 'outgoing';
      var changed = _.pluck((plan.changes && plan.changes.lines) || [], 'seq');
      return _.extend({
        t: texts(outgoing),
        total: money(plan.total, currency), debt: money(plan.debt, currency),
        already_paid: (kopecks(plan.already_paid) || 0) ? money(plan.already_paid, currency) : '',
        count: plan.installments_count,
        monthly: plan.monthly_payment ? money(plan.monthly_payment, currency) : '',
        last: day(plan.last_due_date),
        changes: changesModel(plan.changes, currency),
        lines: _.map(plan.installments, function (line) {
          return _.extend(lineModel(line, currency, outgoing), {changed: _.contains(changed, line.seq)});
        })
      }, interestPreviewModel(plan));
    }

    // ---- interest plans [J]: annuity and differentiated, the interest per line, the effective rate ----

    // Analytics: of the money received, the interest of interest plans (the rest is principal).
    function interestReceivedSplit(kind, summary) {
      if (kind !== 'received' || !(kopecks(summary.received_interest) || 0)) {
        return {split: ''};
      }
      return {split: interestText('received_split').replace('{interest}', money(summary.received_interest,
        summary.currency)).replace('{principal}', money(summary.received_principal, summary.currency))};
    }

    function interestText(key) {
      return t('interest.' + key);
    }

    // The rate, day count, grace and start of an interest plan, from the active version's stored request.
    function interestScheduleModel(deal) {
      var sent = (deal.schedule && deal.schedule.request) || {};
      var interest = _.contains(INTEREST_PLANS, sent.plan);
      var dayCount = interest && sent.day_count ? sent.day_count : 'actual/365';
      return {
        interest_t: self.i18n('interest') || {},
        interest_values: {
          annual_rate: interest && sent.annual_rate !== undefined && sent.annual_rate !== null ? String(sent.annual_rate) : '',
          grace_periods: interest && sent.grace_periods ? String(sent.grace_periods) : '0',
          start_date: interest && sent.start_date ? sent.start_date : ''
        },
        day_counts: choices(DAY_COUNTS, function (code) { return interestText('day_count_' + DAY_COUNT_KEYS[code]); },
          dayCount)
      };
    }

    function interestScheduleBody($root, body) {
      var rate = (fieldValue($root, 'annual_rate') || '').replace(/\s/g, '').replace(',', '.');
      var grace = fieldValue($root, 'grace_periods');
      body.annual_rate = rate === '' ? '0' : rate;
      body.day_count = fieldValue($root, 'day_count') || 'actual/365';
      body.grace_periods = /^\d+$/.test(grace) ? parseInt(grace, 10) : (grace || 0);
      if (fieldValue($root, 'start_date')) {
        body.start_date = fieldValue($root, 'start_date');
      }
      return body;
    }

    function interestLineModel(line, currency) {
      var cents = kopecks(line.interest) || 0;
      if (!cents) {
        return {interest: '', principal: '', interest_note: ''};
      }
      var interest = money(line.interest, currency);
      return {interest: interest, principal: money(amountString((kopecks(line.amount) || 0) - cents), currency),
        interest_note: interestText('line_note').replace('{interest}', interest)};
    }

    function interestSideText(side, currency) {
      return side && (kopecks(side.interest) || 0) ? ' (' + interestText('line_note').replace('{interest}',
        money(side.interest, currency)) + ')' : '';
    }

    // The preview's interest summary and columns: only for a plan that charges interest.
    function interestPreviewModel(plan) {
      var currency = plan.currency;
      var charged = (kopecks(plan.interest_total) || 0) > 0 || _.contains(INTEREST_PLANS, plan.plan);
      if (!charged) {
        return {interest: null};
      }
      var rate = plan.effective_rate === null || plan.effective_rate === undefined ? ''
        : String(plan.effective_rate).replace('.', lang() === 'ru' ? ',' : '.') + '\u00a0%';
      return {interest: {t: self.i18n('interest') || {}, total: money(plan.interest_total || '0', currency), rate: rate}};
    }

    function saveSchedule() {
      var $root = dialogRoot();
      var before = panel.deal && panel.deal.schedule ? panel.deal.schedule.version : null;
      submit('PUT', '/deals/' + currentLeadId() + '/schedule', scheduleBody($root), function (saved) {
        loadDeal(true).then(function () {
          flash(t(before && saved.version === before ? 'changes.saved_unchanged' : 'schedule.saved'));
        });
      });
    }

    // ---- payments and invoices -----------------------------------------------------------------

    function paymentModel(deal, kind) {
      return {t: texts(deal.direction === 'outgoing'), debt: money(deal.debt, deal.currency), today: isoDate(new Date()),
        methods: _.map(OFFLINE_METHODS, function (code) { return {code: code, label: t('method.' + code)}; }),
        default_method: kind === 'full' ? 'bank_transfer' : 'cash'};
    }

    function openPayment(kind) {
      var deal = panel.deal;
      template(kind === 'full' ? 'full_payment' : 'payment').then(function (compiled) {
        openDialog(kind, compiled.render(paymentModel(deal, kind)));
        updateNewDebt();
      }, dialogFailed);
    }

    // The dialog shows what the debt becomes before the manager confirms; the server still decides.
    function updateNewDebt() {
      var $root = dialogRoot();
      if (!panel.deal || !$root.length) {
        return;
      }
      var debt = kopecks(panel.deal.debt) || 0;
      var amount = kopecks(fieldValue($root, 'amount'));
      var $after = $root.find('[data-new-debt]');
      if (amount === null || amount <= 0) {
        $after.text('—').removeClass('is-warning');
        return;
      }
      var after = debt - amount;
      var overDebt = word('payment.over_debt', panel.deal.direction === 'outgoing');
      $after.text(after < 0 ? overDebt.replace('{amount}', money(amountString(-after)))
        : money(amountString(after))).toggleClass('is-warning', after < 0);
      $root.find('[data-will-close]').toggle(after === 0);
    }

    function savePayment() {
      var $root = dialogRoot();
      var body = {amount: normalizedAmount(fieldValue($root, 'amount')), method: fieldValue($root, 'method'),
        paid_at: fieldValue($root, 'paid_at'), comment: fieldValue($root, 'comment')};
      if (!fieldValue($root, 'amount')) {
        delete body.amount;
      }
      submit('POST', '/deals/' + currentLeadId() + '/payments', body, function (deal) {
        afterDeal(deal, word('payment.saved', deal.direction === 'outgoing').replace('{debt}',
          money(deal.debt, deal.currency)));
      });
    }

    function saveFullPayment() {
      var $root = dialogRoot();
      var body = {method: fieldValue($root, 'method'), paid_at: fieldValue($root, 'paid_at'),
        comment: fieldValue($root, 'comment')};
      submit('POST', '/deals/' + currentLeadId() + '/full-payment', body, function (deal) {
        afterDeal(deal, word('full_payment.saved', deal.direction === 'outgoing'));
      });
    }

    function openInvoice() {
      var deal = panel.deal;
      template('invoice').then(function (compiled) {
        var lines = _.filter(deal.schedule.installments, function (line) {
          return _.contains(OPEN_LINES, line.status);
        });
        var $root = openDialog('invoice', compiled.render({t: texts(), lines: _.map(lines, function (line) {
          var model = lineModel(line, deal.currency);
          model.has_invoice = !!(line.invoice && line.invoice.status === 'issued');
          return model;
        })}));
        updateInvoiceAmount($root);
      }, dialogFailed);
    }

    // What the server will issue for the chosen line: its live invoice if there is one, else what is left of it.
    function invoiceAmountText(line, deal) {
      var live = line.invoice && line.invoice.status === 'issued' ? line.invoice : null;
      var liveInvoice = live ? _.findWhere(deal.invoices || [], {id: live.id}) || live : null;
      if (liveInvoice && liveInvoice.amount) {
        return tf('invoice.live', {seq: line.seq, number: liveInvoice.number || '',
          amount: money(liveInvoice.amount, deal.currency, true)});
      }
      var remainder = (kopecks(line.amount) || 0) - (kopecks(line.paid) || 0);
      return tf('invoice.will_issue', {amount: money(amountString(remainder), deal.currency, true),
        what: tf(remainder < (kopecks(line.amount) || 0) ? 'invoice.what_remainder' : 'invoice.what_line',
          {seq: line.seq})});
    }

    function updateInvoiceAmount($root) {
      var deal = panel.deal;
      var seq = parseInt(fieldValue($root, 'installment_seq'), 10);
      var line = deal && deal.schedule ? _.findWhere(deal.schedule.installments, {seq: seq}) : null;
      $root.find('[data-invoice-amount]').text(line ? invoiceAmountText(line, deal) : '');
    }

    function saveInvoice() {
      var $root = dialogRoot();
      var seq = fieldValue($root, 'installment_seq');
      submit('POST', '/deals/' + currentLeadId() + '/invoices', seq ? {installment_seq: parseInt(seq, 10)} : {},
        function (invoice) {
          loadDeal(true).then(function () {
            flash(tf('invoice.saved', {number: invoice.number, amount: money(invoice.amount)}));
          });
        });
    }

    // A big document is rendered by a worker: say so, and ask again when the server says it may be ready.
    function downloadWhenReady(url, filename, attempt) {
      return download(url, null, filename).then(function (file) {
        if (!file.queued) {
          return file;
        }
        if (attempt >= DOCUMENT_RETRIES) {
          return $.Deferred().reject({status: 202, message: t('panel.doc_still_preparing')}).promise();
        }
        flash(t('panel.doc_preparing'), 'info');
        var later = $.Deferred();
        clearTimeout(timers.document);
        timers.document = setTimeout(function () {
          downloadWhenReady(url, filename, attempt + 1).then(later.resolve, later.reject);
        }, Math.min(file.retryAfter, 60) * 1000);
        return later.promise();
      });
    }

    function downloadDocument(kind, id) {
      var deal = panel.deal || {};
      var invoice = _.findWhere(deal.invoices || [], {id: id});
      var request;
      if (kind === 'receipt') {
        request = downloadWhenReady('/api/v1/payments/' + id + '/receipt.pdf', 'receipt-' + id + '.pdf', 0);
      } else if (kind === 'invoice') {
        request = downloadWhenReady(invoice && invoice.pdf_url ? invoice.pdf_url : '/api/v1/invoices/' + id + '/pdf',
          'invoice-' + (invoice ? invoice.number : id) + '.pdf', 0);
      } else {
        request = downloadWhenReady('/api/v1/deals/' + deal.lead_id + '/documents/' + kind + '.pdf',
          kind + '-' + deal.lead_id + '.pdf', 0);
      }
      request.then(function () {
        panelRoot().find('.payplan-flash[data-tone="info"]').hide();
      }, function (error) {
        flash(error.status === 404 ? t('errors.document_missing') : error.message, 'error');
      });
    }

    // ---- analytics (the advanced settings page) --------------------------------------------------

    function monthRange(offset) {
      var now = new Date();
      var start = new Date(now.getFullYear(), now.getMonth() + offset, 1);
      var end = new Date(start.getFullYear(), start.getMonth() + 1, 0);
      return {date_from: isoDate(start), date_to: isoDate(end)};
    }

    function presetRange(preset) {
      var now = new Date();
      if (preset === 'next_30') {
        return {date_from: isoDate(now), date_to: isoDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 29))};
      }
      if (preset === 'year') {
        return {date_from: now.getFullYear() + '-01-01', date_to: now.getFullYear() + '-12-31'};
      }
      return monthRange(preset === 'previous_month' ? -1 : 0);
    }

    function analyticsPage() {
      return $('#work-area-' + settings().widget_code + ' .payplan-analytics');
    }

    function analyticsFilters() {
      var $page = analyticsPage();
      var filters = {};
      _.each(['date_from', 'date_to', 'direction', 'group', 'education_direction', 'manager_id'], function (name) {
        var value = fieldValue($page, name);
        if (value) {
          filters[name] = value;
        }
      });
      return filters;
    }

    function openAnalytics() {
      var $area = $('#work-area-' + settings().widget_code);
      $area.html('<div class="payplan payplan-analytics">' + loadingHtml() + '</div>');
      $.when(template('analytics'), template('analytics_body'), template('rows')).then(function (compiled) {
        api('GET', '/analytics/filters').then(function (options) {
          analytics.options = options;
          renderAnalyticsShell(compiled, options);
        }, function (error) {
          if (error.status === 404 || error.status === 0) {
            $area.find('.payplan-analytics').html(errorHtml(error.status === 404
              ? {status: 404, message: t('analytics.missing')} : error));
            return;
          }
          analytics.options = {groups: [], education_directions: [], managers: [], directions: []};
          renderAnalyticsShell(compiled, analytics.options);
        });
      }, function (error) { $area.find('.payplan-analytics').html(errorHtml(error)); });
    }

    function renderAnalyticsShell(compiled, options) {
      var range = monthRange(0);
      rowsFromStart();
      analytics.kind = 'received';
      analyticsPage().html(compiled.render({
        t: texts(), range: range,
        groups: options.groups, education_directions: options.education_directions,
        directions: choices(options.directions.length ? options.directions : ['incoming', 'outgoing'], function (code) {
          return t('schedule.direction_' + code);
        }, 'incoming'),
        managers: _.map(options.managers, function (id) { return {id: id, name: managerName(id)}; })
      }));
      refreshAnalytics();
      bankImportRender();
    }

    function refreshAnalytics() {
      var $page = analyticsPage();
      var filters = analyticsFilters();
      var seq = analytics.seq += 1;
      $page.find('.payplan-analytics__body').addClass('is-updating');
      $page.find('.payplan-alert').hide();
      $.when(template('analytics_body'), api('GET', '/analytics/summary', filters)).then(function (compiled, summary) {
        if (seq !== analytics.seq) {
          return;
        }
        $page.find('.payplan-analytics__body').removeClass('is-updating')
          .html(compiled.render(summaryModel(summary)));
        drawChart(summary);
        loadRows();
        loadCounterparties();
        loadFigures();
        debtorsAfterSummary(summary);
      }, function (error) {
        if (seq !== analytics.seq) {
          return;
        }
        $page.find('.payplan-analytics__body').removeClass('is-updating');
        showErrors($page, error.status === 404 ? {status: 404, message: t('analytics.missing'), fields: {}} : error);
      });
    }

    function summaryModel(summary) {
      var currency = summary.currency;
      var aging = summary.aging || [];
      var top = _.max(_.map(aging, function (bucket) { return kopecks(bucket.amount) || 0; }).concat([1]));
      return {
        t: texts(), kind: analytics.kind,
        totals: _.map(ROW_KINDS, function (kind) {
          return _.extend({kind: kind, label: t('analytics.' + kind), amount: money(summary[kind].amount, currency),
            count: tf('analytics.count', {count: summary[kind].count}), active: kind === analytics.kind},
          interestReceivedSplit(kind, summary));
        }),
        aging: _.map(aging, function (bucket) {
          return {label: t('aging.' + bucket.bucket), amount: money(bucket.amount, currency),
            count: bucket.count, share: Math.round((kopecks(bucket.amount) || 0) * 100 / top),
            overdue: bucket.bucket.indexOf('overdue') === 0};
        })
      };
    }

    function chartSeries(byDay) {
      var weekly = byDay.length > WEEKLY_CHART_AFTER_DAYS;
      var buckets = [];
      _.each(byDay, function (row) {
        var date = parseIso(row.date);
        var last = buckets[buckets.length - 1];
        if (!last || !weekly || date.getDay() === 1) {
          last = {label: day(row.date).slice(0, lang() === 'ru' ? 5 : 6), received: 0, due: 0};
          buckets.push(last);
        }
        last.received += kopecks(row.received) || 0;
        last.due += kopecks(row.due) || 0;
      });
      return {weekly: weekly, buckets: buckets};
    }

    function drawChart(summary) {
      var $chart = analyticsPage().find('.payplan-chart__canvas');
      var series = chartSeries(summary.by_day || []);
      analyticsPage().find('.payplan-chart__title').text(t(series.weekly ? 'analytics.chart_weekly' : 'analytics.chart_daily'));
      if (!$chart.length || !series.buckets.length) {
        return;
      }
      window.require([self.params.path + CHART_LIBRARY], function (frappe) {
        var charts = frappe || window.frappe;
        if (!charts || !$.contains(document, $chart[0])) {
          return;
        }
        $chart.empty();
        // Floats here only place bars on screen; every amount shown as text is formatted from kopecks.
        analytics.chart = new charts.Chart($chart[0], {
          type: 'bar', height: 240, colors: ['#27ae60', '#4c8bf5'],
          data: {labels: _.pluck(series.buckets, 'label'), datasets: [
            {name: t('analytics.received'), values: _.map(series.buckets, function (b) { return b.received / 100; })},
            {name: t('analytics.due'), values: _.map(series.buckets, function (b) { return b.due / 100; })}
          ]},
          barOptions: {spaceRatio: 0.35},
          axisOptions: {xIsSeries: true, xAxisMode: 'tick', yAxisMode: 'span', shortenYAxisNumbers: 1},
          tooltipOptions: {formatTooltipY: function (value) {
            return money(amountString(Math.round(value * 100)), summary.currency);
          }}
        });
      }, function () {
        $chart.html('<div class="payplan-muted">' + escapeHtml(t('analytics.chart_failed')) + '</div>');
      });
    }

    function rowsFromStart() {
      analytics.cursors = [null];
      analytics.next = null;
      analytics.total = null;
    }

    function loadRows() {
      var $page = analyticsPage();
      var seq = analytics.seq;
      var rowsSeq = analytics.rowsSeq += 1;
      var cursor = _.last(analytics.cursors);
      var params = _.extend(analyticsFilters(), {kind: analytics.kind, page_size: ROWS_PAGE_SIZE},
        cursor ? {cursor: cursor} : {page: 1});
      analytics.next = null;  // no second step on until this page is in
      $page.find('.payplan-rows').addClass('is-updating').find(action('page')).prop('disabled', true);
      $.when(template('rows'), api('GET', '/analytics/rows', params)).then(function (compiled, rows) {
        if (seq !== analytics.seq || rowsSeq !== analytics.rowsSeq) {
          return;
        }
        if (!cursor) {
          analytics.total = _.isNumber(rows.count) ? rows.count : null;
        }
        analytics.next = rows.next_cursor || null;
        $page.find('.payplan-rows').removeClass('is-updating').html(compiled.render(rowsModel(rows)));
      }, function (error) {
        if (rowsSeq !== analytics.rowsSeq) {
          return;
        }
        $page.find('.payplan-rows').removeClass('is-updating')
          .html('<div class="payplan-muted">' + escapeHtml(error.message) + '</div>');
      });
    }

    function rowsStep(step) {
      if (step > 0 && analytics.next) {
        analytics.cursors.push(analytics.next);
      } else if (step < 0 && analytics.cursors.length > 1) {
        analytics.cursors.pop();
      } else {
        return;
      }
      loadRows();
    }

    function rowsModel(rows) {
      var shown = rows.results.length;
      var first = shown ? (analytics.cursors.length - 1) * ROWS_PAGE_SIZE + 1 : 0;
      var bounds = {first: first, last: first ? first + shown - 1 : 0, count: analytics.total};
      return {
        t: texts(), kind: analytics.kind, title: t('analytics.rows_' + analytics.kind),
        overdue: analytics.kind === 'overdue',
        received: analytics.kind === 'received',
        rows: _.map(rows.results, function (row) {
          return {lead_id: row.lead_id, lead_url: '/leads/detail/' + row.lead_id,
            deal: row.deal_name || tf('analytics.unnamed_deal', {lead_id: row.lead_id}), client: row.client,
            group: [row.group, row.education_direction].filter(Boolean).join(' · '), date: day(row.date),
            amount: money(row.amount), paid: money(row.paid), remaining: money(row.remaining),
            days_overdue: row.days_overdue, manager: managerName(row.manager_id),
            method: row.method ? t('method.' + row.method) : ''};
        }),
        // The total comes with the first page only (a cursor page is not counted): kept while paging on.
        range: shown ? tf(analytics.total === null ? 'analytics.range_open' : 'analytics.range', bounds) : '',
        has_prev: analytics.cursors.length > 1, has_next: Boolean(rows.next_cursor), empty: !shown
      };
    }

    function exportAnalytics($button) {
      $button.prop('disabled', true).addClass('is-busy');
      download('/api/v1/analytics/export.xlsx', _.extend(analyticsFilters(), {lang: lang()}), 'payplan-' + isoDate(new Date()) + '.xlsx')
        .fail(function (error) {
          showErrors(analyticsPage(), error.status === 404 ? {status: 404, message: t('analytics.missing'),
            fields: {}} : error);
        })
        .always(function () { $button.prop('disabled', false).removeClass('is-busy'); });
    }

    // ---- payout roles (settings): who pays each tranche, who closes the claim after the last --------

    var PAYOUT_ROLES = ['accountant_user_id', 'claims_specialist_user_id'];

    function payoutRolesModel(values, users) {
      var roles = values.roles || {};
      return _.map(PAYOUT_ROLES, function (key) {
        return {key: key, label: t('account.role_' + key),
          options: idOptions(users, roles[key], function (id) { return tf('account.user_unknown', {id: id}); })};
      });
    }

    function payoutRolesBody(number) {
      var roles = {};
      _.each(PAYOUT_ROLES, function (key) { roles[key] = number('roles.' + key); });
      return roles;
    }

    // ---- counterparty report (the analytics page): paid, payments made, remaining per counterparty / contract

    function loadCounterparties() {
      var $block = analyticsPage().find('.payplan-counterparties');
      var seq = counterparties.seq += 1;
      var params = _.extend(analyticsFilters(), {group_by: counterparties.groupBy});
      $block.addClass('is-updating');
      $.when(template('counterparties'), api('GET', '/analytics/counterparties', params)).then(function (compiled, report) {
        if (seq !== counterparties.seq) {
          return;
        }
        $block.removeClass('is-updating').html(compiled.render(counterpartiesModel(report)));
      }, function (error) {
        $block.removeClass('is-updating').html('<div class="payplan-muted">' + escapeHtml(error.message) + '</div>');
      });
    }

    function counterpartiesModel(report) {
      function figures(row) {
        return {key: row.key, counterparty: row.counterparty, contract: row.contract,
          lead_url: row.lead_id ? '/leads/detail/' + row.lead_id : '', deals_count: row.deals_count,
          paid: money(row.paid, report.currency), payments_count: row.payments_count,
          remaining: money(row.remaining, report.currency),
          next_due_date: row.next_due_date ? day(row.next_due_date) : ''};
      }
      return {t: texts(), by_counterparty: report.group_by === 'counterparty', empty: !report.rows.length,
        rows: _.map(report.rows, figures), totals: figures(report.totals)};
    }

    function exportCounterparties($button) {
      $button.prop('disabled', true).addClass('is-busy');
      var kind = counterparties.groupBy === 'contract' ? 'contracts' : 'counterparties';
      download('/api/v1/analytics/export.xlsx', _.extend(analyticsFilters(), {kind: kind, lang: lang()}),
        'payplan-' + kind + '-' + isoDate(new Date()) + '.xlsx')
        .fail(function (error) { showErrors(analyticsPage(), error); })
        .always(function () { $button.prop('disabled', false).removeClass('is-busy'); });
    }

    // ---- [I] figures users asked for (the analytics page): cash-in forecast, collection rate, plan progress --

    var figures = {seq: 0, forecast: 'weeks', data: null, progress: [], after: null};

    function figuresTexts() {
      return _.extend(texts(), {figures: self.i18n('figures') || {}});
    }

    function figuresRate(rate) {
      if (rate === null || rate === undefined) {
        return t('figures.no_rate');
      }
      var percent = (parseFloat(rate) * 100).toFixed(1);
      return (lang() === 'ru' ? percent.replace('.', ',') : percent) + '\u00a0%';
    }

    function loadFigures() {
      var $block = analyticsPage().find('.payplan-asked');
      var seq = figures.seq += 1;
      var filters = analyticsFilters();
      var noRange = _.omit(filters, 'date_from', 'date_to');
      $block.addClass('is-updating');
      $.when(template('figures'), api('GET', '/analytics/forecast', noRange),
        api('GET', '/analytics/collection-rate', filters),
        api('GET', '/analytics/plan-progress', _.extend({page_size: ROWS_PAGE_SIZE}, noRange)))
        .then(function (compiled, forecast, collection, progress) {
          if (seq !== figures.seq) {
            return;
          }
          figures.data = {compiled: compiled, forecast: forecast, collection: collection};
          figures.progress = progress.results;
          figures.after = progress.next_after;
          renderFigures();
        }, function (error) {
          if (seq === figures.seq) {
            $block.removeClass('is-updating').html('<div class="payplan-muted">' +
              escapeHtml(tf('figures.failed', {message: error.message})) + '</div>');
          }
        });
    }

    function moreFigures($button) {
      var seq = figures.seq;
      $button.prop('disabled', true).addClass('is-busy');
      api('GET', '/analytics/plan-progress', _.extend({page_size: ROWS_PAGE_SIZE, after: figures.after},
        _.omit(analyticsFilters(), 'date_from', 'date_to'))).then(function (page) {
        if (seq !== figures.seq) {
          return;
        }
        figures.progress = figures.progress.concat(page.results);
        figures.after = page.next_after;
        renderFigures();
      }, function (error) {
        $button.prop('disabled', false).removeClass('is-busy');
        showErrors(analyticsPage(), error);
      });
    }

    function renderFigures() {
      var data = figures.data;
      var currency = data.forecast.currency;
      var periods = data.forecast[figures.forecast] || [];
      function collectionRow(row, total) {
        return {manager_id: row.manager_id === null ? '' : row.manager_id, total: total,
          manager: total ? t('figures.total') : (row.manager_id ? managerName(row.manager_id) : t('figures.no_manager')),
          due: money(row.due_amount, currency),
          on_time: money(row.on_time_amount, currency) + ' (' + tf('figures.lines_of', {paid: row.on_time_count,
            total: row.due_count}) + ')',
          rate_amount: figuresRate(row.rate_amount), rate_count: figuresRate(row.rate_count)};
      }
      var model = {
        t: figuresTexts(), by_week: figures.forecast === 'weeks',
        forecast: _.map(periods, function (period) {
          return {start: period.start, label: tf('figures.period', {start: day(period.start), end: day(period.end)}),
            amount: money(period.amount, currency), count: period.count};
        }),
        forecast_total: money((_.reduce(periods, function (sum, period) { return sum + (kopecks(period.amount) || 0); },
          0) / 100).toFixed(2), currency),
        forecast_count: _.reduce(periods, function (sum, period) { return sum + period.count; }, 0),
        collection_hint: tf('figures.collection_hint', {from: day(data.collection.date_from),
          to: day(data.collection.date_to)}),
        collection_empty: !data.collection.rows.length,
        collection: _.map(data.collection.rows, function (row) { return collectionRow(row, false); })
          .concat([collectionRow(data.collection.totals, true)]),
        progress_empty: !figures.progress.length, has_more: figures.after !== null,
        progress: _.map(figures.progress, function (row) {
          return {lead_id: row.lead_id, lead_url: '/leads/detail/' + row.lead_id,
            deal: row.deal_name || tf('analytics.unnamed_deal', {lead_id: row.lead_id}), client: row.client,
            lines: tf('figures.progress', {paid: row.lines_paid, total: row.lines_total}),
            share: row.lines_total ? Math.round(row.lines_paid * 100 / row.lines_total) : 0,
            paid: tf('figures.lines_of', {paid: money(row.amount_paid, currency), total: money(row.amount_total, currency)}),
            next_due_date: row.next_due_date ? day(row.next_due_date) : ''};
        })
      };
      analyticsPage().find('.payplan-asked').removeClass('is-updating').html(data.compiled.render(model));
    }

    // ---- account settings (inside the integration's settings modal) -----------------------------

    var CP_KINDS = ['check', 'pay', 'fail', 'confirm', 'refund', 'cancel', 'recurrent'];

    function cloudPaymentsLast(last) {
      if (!last) {
        return t('account.cp_last_none');
      }
      var moment = new Date(last.received_at);
      var time = timestamp(last.received_at) + ' ' + pad(moment.getHours()) + ':' + pad(moment.getMinutes());
      return tf('account.cp_last', {kind: last.kind, time: time,
        result: t(last.signature_valid ? 'account.cp_last_valid' : 'account.cp_last_invalid')});
    }

    function idOptions(list, current, unknownLabel) {
      var options = _.map(list, function (item) {
        return {id: item.id, name: item.name, selected: current !== null && current !== undefined && item.id === current};
      });
      // A stored id amoCRM no longer lists stays selectable: saving the page must never swap it silently.
      if (current && !_.findWhere(options, {id: current})) {
        options.push({id: current, name: unknownLabel(current), selected: true});
      }
      return options;
    }

    function vatLabel(code) {
      if (code === null) {
        return t('account.vat_none');
      }
      return code >= 100 ? tf('account.vat_calculated', {rate: code - 100, base: code})
        : tf('account.vat_rate', {rate: code});
    }

    function timeZoneOptions(current) {
      var zones = _.map(TIME_ZONES, function (zone) {
        return {code: zone[0], label: tf('account.time_zone_option', {city: t('account.city_' + zone[2]),
          offset: zone[1]}), selected: zone[0] === current};
      });
      if (current && !_.findWhere(zones, {code: current})) {
        zones.unshift({code: current, label: tf('account.time_zone_other', {zone: current}), selected: true});
      }
      return zones;
    }

    function accountModel(values, options) {
      var pipelines = options ? options.pipelines : [];
      var cp = values.cloudpayments || {notification_urls: {}};
      var stage = values.completed_stage || {};
      var suggested = (options && options.suggested_custom_fields) || {};
      var receipts = values.receipts || {};
      var requisites = values.requisites || {};
      var stages = [{value: ':142', label: t('account.stage_any_won'), selected: !stage.pipeline_id &&
        stage.status_id === 142}].concat(_.flatten(_.map(pipelines, function (pipeline) {
        return _.map(pipeline.statuses, function (status) {
          return {value: pipeline.id + ':' + status.id, label: pipeline.name + ' → ' + status.name,
            selected: stage.pipeline_id === pipeline.id && stage.status_id === status.id};
        });
      })));
      if (!_.findWhere(stages, {selected: true})) {
        stages.push({value: (stage.pipeline_id || '') + ':' + stage.status_id, selected: true,
          label: tf('account.stage_unknown', {pipeline: stage.pipeline_id || '—', status: stage.status_id})});
      }
      var leadFields = options ? options.lead_fields : [];
      var users = options && options.users.length ? _.where(options.users, {is_active: true}) : managers();
      var method = receipts.method === undefined ? 4 : receipts.method;
      var object = receipts.object === undefined ? 4 : receipts.object;
      var vat = receipts.vat === undefined ? null : receipts.vat;
      var service = values.client_service_name || {source: 'fixed', field_id: null, default_text: ''};
      return {
        t: texts(), values: values, has_options: !!options, warnings: options ? options.warnings : [],
        crm_status: values.crm ? t('account.crm_' + values.crm.status) : '', crm_reason: values.crm ? values.crm.reason : '',
        crm_ok: values.crm && values.crm.status === 'connected',
        // The integration's settings modal is an administrator's page; the server still refuses others.
        is_admin: true, cp: cp, cp_last: cloudPaymentsLast(cp.last_notification),
        cp_urls: _.map(CP_KINDS, function (kind) {
          return {label: t('account.cp_kind_' + kind), value: cp.notification_urls[kind] || ''};
        }),
        stages: stages,
        fields: _.map(FIELD_KEYS, function (key) {
          var current = values.custom_fields ? values.custom_fields[key] : null;
          var chosen = current || suggested[key] || null;
          return {key: key, label: t('account.field_' + key), value: current || '',
            options: idOptions(leadFields, chosen, function (id) { return tf('account.field_unknown', {id: id}); })};
        }),
        users: idOptions(users, values.task_user_id, function (id) { return tf('account.user_unknown', {id: id}); }),
        roles: payoutRolesModel(values, users),
        requisites: _.map(_.union(REQUISITE_KEYS, _.keys(requisites)), function (key) {
          return {key: key, label: t('account.requisite_' + key), value: requisites[key] || ''};
        }),
        reminders: values.reminders || [],
        actions: _.map(REMINDER_ACTIONS, function (code) { return {code: code, label: t('account.action_' + code)}; }),
        receipts: receipts,
        vat_rates: _.map(VAT_CODES, function (code) {
          return {code: code === null ? '' : String(code), label: vatLabel(code), selected: code === vat};
        }),
        taxation_systems: _.map(_.union(TAXATION_SYSTEMS, receipts.taxation_system === 3 ? [3] : []), function (code) {
          return {code: code, label: t('account.taxation_' + code)};
        }),
        receipt_methods: _.map(RECEIPT_METHODS, function (code) {
          return {code: code, label: t('account.method_' + code), selected: code === method};
        }),
        receipt_objects: _.map(_.union(RECEIPT_OBJECTS, [object]), function (code) {
          return {code: code, selected: code === object, label: _.contains(RECEIPT_OBJECTS, code)
            ? t('account.object_' + code) : tf('account.object_other', {code: code})};
        }),
        time_zones: timeZoneOptions(values.time_zone),
        service: service,
        service_sources: _.map(SERVICE_SOURCES, function (code) {
          return {code: code, label: t('account.service_source_' + code), selected: code === service.source};
        }),
        service_fields: idOptions(leadFields, service.field_id, function (id) {
          return tf('account.field_unknown', {id: id});
        }),
        template_kinds: _.map(TEMPLATE_KINDS, function (kind) {
          return {code: kind, label: t('account.tpl_kind_' + kind)};
        })
      };
    }

    function openAccountSettings($modal) {
      var $block = $('<div class="payplan payplan-account"></div>');
      var $fields = $modal.find('.widget_settings_block__fields');
      ($fields.length ? $fields.last() : $modal).after($block);
      if (!backendUrl()) {
        $block.html('<div class="payplan-state">' + escapeHtml(t('account.save_url_first')) + '</div>');
        return;
      }
      $block.html(loadingHtml());
      // Without amoCRM's lists (not connected, not an admin) the ids can still be typed in.
      var options = api('GET', '/account/crm-options').then(null, function () {
        return $.Deferred().resolve(null).promise();
      });
      $.when(template('account'), api('GET', '/account/settings'), options, remindersByLadder())
        .then(function (compiled, values, crmOptions, byLadder) {
          var model = _.extend(accountModel(values, crmOptions), {reminders_by_ladder: byLadder});
          $block.html(compiled.render(model));
          clientSettingsOpen($block, values);
          planRulesOpen($block, values, crmOptions);
          $block.data('payplan-stored', storedBody(values, $block));
          renumberRows($block, 'reminders');
          loadTemplate($block);
          dunningSettingsOpen($block, crmOptions);
        }, function (error) {
          $block.html(errorHtml(error.status === 404 ? {status: 404, message: t('account.missing')} : error));
        });
    }

    // Once the account saved a collections ladder, the old reminder list is not read (the server refuses
    // changing it): the page says so instead of offering rows that would do nothing.
    function remindersByLadder() {
      return api('GET', '/account/dunning').then(function (body) {
        return !!body.custom;
      }, function () {
        return $.Deferred().resolve(false).promise();
      });
    }

    // The settings as stored, in the shape of the form's body: what a save compares the form with.
    function storedBody(values, $block) {
      var cp = values.cloudpayments || {};
      return _.extend(clientSettingsStored(values), $block ? planRulesStored($block) : {}, {
        completed_stage: values.completed_stage, custom_fields: values.custom_fields, requisites: values.requisites,
        task_user_id: values.task_user_id, invoice_lead_days: values.invoice_lead_days, time_zone: values.time_zone,
        roles: values.roles || {}, reminders: values.reminders, receipts: values.receipts,
        invoice_grace_days: values.invoice_grace_days, client_service_name: values.client_service_name,
        cloudpayments: {public_id: cp.public_id, test_mode: cp.test_mode},
        gateways: yookassaStored(values).gateways, yookassa: yookassaStored(values).yookassa
      });
    }

    function accountBody($block) {
      var number = function (name) {
        var value = fieldValue($block, name);
        return /^-?\d+$/.test(value) ? parseInt(value, 10) : (value || null);
      };
      var picked = $block.find('select[name="completed_stage"]').length;
      var stage = picked ? fieldValue($block, 'completed_stage').split(':')
        : [fieldValue($block, 'completed_stage.pipeline_id'), fieldValue($block, 'completed_stage.status_id')];
      var body = {
        completed_stage: {pipeline_id: /^\d+$/.test(stage[0]) ? parseInt(stage[0], 10) : (stage[0] || null),
          status_id: /^\d+$/.test(stage[1]) ? parseInt(stage[1], 10) : (stage[1] || null)},
        custom_fields: {}, requisites: {},
        task_user_id: number('task_user_id'),
        roles: payoutRolesBody(number),
        invoice_lead_days: number('invoice_lead_days'),
        invoice_grace_days: number('invoice_grace_days'),
        client_service_name: {source: fieldValue($block, 'client_service_name.source'),
          field_id: number('client_service_name.field_id'),
          default_text: fieldValue($block, 'client_service_name.default_text')},
        time_zone: fieldValue($block, 'time_zone'),

        receipts: {
          enabled: $block.find('[name="receipts.enabled"]').is(':checked'),
          inn: fieldValue($block, 'receipts.inn'),
          taxation_system: number('receipts.taxation_system'),
          vat: number('receipts.vat'),
          item_label: fieldValue($block, 'receipts.item_label'),
          method: number('receipts.method'),
          object: number('receipts.object')
        }
      };
      if ($block.find('[data-rows="reminders"]').length) {
        body.reminders = _.map(rowsOf($block, 'reminders', ['day', 'action']), function (row) {
          return {day: /^-?\d+$/.test(row.day) ? parseInt(row.day, 10) : row.day, action: row.action};
        });
      }
      if ($block.find('[name="cloudpayments.public_id"]').length) {
        body.cloudpayments = {public_id: fieldValue($block, 'cloudpayments.public_id'),
          test_mode: $block.find('[name="cloudpayments.test_mode"]').is(':checked')};
        // The secret is write-only: it is sent only when typed, and an empty field keeps the stored one.
        if (fieldValue($block, 'cloudpayments.api_secret')) {
          body.cloudpayments.api_secret = fieldValue($block, 'cloudpayments.api_secret');
        }
      }
      yookassaBody($block, body);
      _.each(FIELD_KEYS, function (key) { body.custom_fields[key] = number('custom_fields.' + key); });
      $block.find('[name^="requisites."]').each(function () {
        body.requisites[this.name.slice('requisites.'.length)] = String($(this).val() || '').trim();
      });
      return _.extend(body, clientSettingsForm($block), planRulesForm($block));
    }

    function isObject(value) {
      return value !== null && typeof value === 'object' && !_.isArray(value);
    }

    // What the form changes: objects key by key (as PATCH merges them), lists and values whole.
    function changes(stored, form) {
      var changed = {};
      _.each(form, function (value, key) {
        var before = stored ? stored[key] : undefined;
        if (isObject(value) && isObject(before)) {
          var inner = changes(before, value);
          if (_.size(inner)) {
            changed[key] = inner;
          }
        } else if (JSON.stringify(value) !== JSON.stringify(before === undefined ? null : before)) {
          changed[key] = value;
        }
      });
      return changed;
    }

    function accountResult($block, text, tone) {
      $block.find('[data-account-result]').text(text).attr('data-tone', tone || 'ok').show();
    }

    // The page has one save button, the settings window's own: it saves PayPlan's settings too.
    function saveAccountSettings($block) {
      if (!$block.length || !$block.data('payplan-stored') || $block.data('busy')) {
        return;
      }
      var form = accountBody($block);
      var patch = planRulesPatch(clientSettingsPatch(changes($block.data('payplan-stored'), form), form), form);
      clearErrors($block);
      if (!_.size(patch)) {
        accountResult($block, t('account.saved_nothing'));
        return;
      }
      $block.data('busy', true);
      accountResult($block, t('account.saving'));
      api('PATCH', '/account/settings', patch).then(function (values) {
        $block.data('payplan-plan-rules', planRulesForm($block));
        $block.data('payplan-stored', storedBody(values, $block));
        showCloudPayments($block, values.cloudpayments);
        showYooKassa($block, values.yookassa);
        accountResult($block, t('account.saved'));
      }, function (error) {
        showErrors($block, error);
        accountResult($block, error.status === 422 ? t('account.save_failed') : error.message, 'error');
      }).always(function () {
        $block.data('busy', false);
      });
    }

    // ---- client features (sections of the settings page, saved with it): the language of client texts,
    // proposals, autopay, the sign-up form [F]. Pre-filled from GET /account/settings; only what changed is sent.

    var CLIENT_LANGUAGES = ['ru', 'en'];
    var PROGRAMME_PERIODS = ['month', '2weeks', 'week', 'quarter'];
    var PROGRAMMES = 'client_registration.templates';

    function cs(path) {
      return escapeHtml(t('client_settings.' + path));
    }

    function csField(name, label, control, hint) {
      return '<div class="payplan-field"><label class="payplan-label" for="payplan-cs-' + name.replace(/\./g, '-') +
        '">' + label + '</label>' + control + (hint ? '<div class="payplan-muted">' + hint + '</div>' : '') +
        '<div class="payplan-field-error" data-error-for="' + name + '"></div></div>';
    }

    function csTextarea(name, value, extra) {
      return '<textarea class="payplan-input" id="payplan-cs-' + name.replace(/\./g, '-') + '" name="' + name +
        '" rows="4"' + (extra || '') + '>' + escapeHtml(value || '') + '</textarea>';
    }

    function programmeRowHtml(row) {
      row = row || {period: 'month', first_due_in_days: 0};
      var input = function (name, label, short) {
        var value = row[name] === null || row[name] === undefined ? '' : row[name];
        return '<div class="payplan-field"><input class="payplan-input' + (short ? ' payplan-input--short' : '') +
          '" data-name="' + name + '" value="' + escapeHtml(String(value)) + '" aria-label="' + label + '"' +
          (short ? ' inputmode="numeric"' : '') + ' placeholder="' + label + '"><div class="payplan-field-error"></div></div>';
      };
      var periods = _.map(PROGRAMME_PERIODS, function (code) {
        return '<option value="' + code + '"' + (code === (row.period || 'month') ? ' selected' : '') + '>' +
          escapeHtml(t('period.' + code)) + '</option>';
      }).join('');
      return '<div class="payplan-row payplan-cs-programme" data-row-of="' + PROGRAMMES + '">' +
        input('key', cs('programme_key'), false) + input('title', cs('programme_title'), false) +
        input('total', cs('programme_total'), false) + input('installments_count', cs('programme_count'), true) +
        '<div class="payplan-field"><select class="payplan-input" data-name="period" aria-label="' + cs('programme_period') +
        '">' + periods + '</select><div class="payplan-field-error"></div></div>' +
        input('first_due_in_days', cs('programme_first_due'), true) +
        '<button type="button" class="payplan-icon-button" data-payplan-action="cs-programme-remove" title="' +
        escapeHtml(t('common.remove')) + '">×</button></div>';
    }

    function embedSnippet(url) {
      return '<iframe src="' + url + '" title="' + t('client_settings.embed_title') +
        '" style="width:100%;min-height:760px;border:0" loading="lazy"></iframe>';
    }

    function clientSettingsHtml(values) {
      var registration = values.client_registration || {};
      var consent = values.autopay_consent_text || {};
      var url = values.registration_url || '';
      var languages = _.map(CLIENT_LANGUAGES, function (code) {
        return '<option value="' + code + '"' + (code === values.language ? ' selected' : '') + '>' +
          cs('language_' + code) + '</option>';
      }).join('');
      var copy = function (what) {
        return '<button type="button" class="payplan-button" data-payplan-action="cs-copy" data-copy="' + what + '">' +
          cs('copy') + '</button>';
      };
      return '<div class="payplan-account__section" data-client-settings>' +
        '<div class="payplan-block__title">' + cs('section_client') + '</div>' +
        '<div class="payplan-grid payplan-grid--2">' +
        csField('language', cs('language'), '<select class="payplan-input" id="payplan-cs-language" name="language">' +
          languages + '</select>', cs('language_hint')) +
        csField('proposal_expiry_days', cs('proposal_expiry_days'), '<input class="payplan-input payplan-input--short" ' +
          'id="payplan-cs-proposal_expiry_days" name="proposal_expiry_days" inputmode="numeric" value="' +
          escapeHtml(String(values.proposal_expiry_days || '')) + '">', cs('proposal_expiry_hint')) +
        '</div></div>' +
        '<div class="payplan-account__section" data-client-settings-autopay>' +
        '<div class="payplan-block__title">' + cs('section_autopay') + '</div>' +
        csField('autopay_retry_days', cs('retry_days'), '<input class="payplan-input" id="payplan-cs-autopay_retry_days" ' +
          'name="autopay_retry_days" value="' + escapeHtml((values.autopay_retry_days || []).join(', ')) + '">',
          cs('retry_days_hint')) +
        csField('autopay_consent_text.ru', cs('autopay_consent_ru'), csTextarea('autopay_consent_text.ru', consent.ru,
          ' placeholder="' + cs('autopay_consent_placeholder') + '"'), cs('autopay_consent_hint')) +
        csField('autopay_consent_text.en', cs('autopay_consent_en'), csTextarea('autopay_consent_text.en', consent.en,
          ' placeholder="' + cs('autopay_consent_en_placeholder') + '"')) +
        '</div>' +
        '<div class="payplan-account__section" data-client-settings-registration>' +
        '<div class="payplan-block__title">' + cs('section_registration') + '</div>' +
        '<div class="payplan-muted">' + cs('registration_hint') + '</div>' +
        '<label class="payplan-check"><input type="checkbox" name="client_registration.enabled"' +
        (registration.enabled ? ' checked' : '') + '> ' + cs('registration_enabled') + '</label>' +
        '<div class="payplan-field-error" data-error-for="client_registration.enabled"></div>' +
        (url ? csField('registration_link', cs('registration_link'), '<div class="payplan-cs-copy-row">' +
          '<input class="payplan-input" id="payplan-cs-registration_link" readonly data-cs-copy-source="link" value="' +
          escapeHtml(url) + '">' + copy('link') + '</div>', registration.enabled ? '' : cs('registration_off_note')) +
          csField('registration_embed', cs('registration_embed'), '<div class="payplan-cs-copy-row">' +
          '<textarea class="payplan-input" id="payplan-cs-registration_embed" readonly rows="2" data-cs-copy-source="embed">' +
          escapeHtml(embedSnippet(url)) + '</textarea>' + copy('embed') + '</div>') +
          '<div class="payplan-muted" data-cs-copy-result role="status"></div>' : '') +
        '<div class="payplan-label">' + cs('programmes') + '</div>' +
        '<div class="payplan-muted">' + cs('programmes_hint') + '</div>' +
        '<div class="payplan-rows" data-rows="' + PROGRAMMES + '">' +
        _.map(registration.templates || [], programmeRowHtml).join('') + '</div>' +
        '<button type="button" class="payplan-link-button" data-payplan-action="cs-programme-add">+ ' +
        cs('programme_add') + '</button>' +
        '<div class="payplan-field-error" data-error-for="' + PROGRAMMES + '"></div>' +
        csField('client_registration.consent_text', cs('registration_consent'),
          csTextarea('client_registration.consent_text', registration.consent_text,
            ' placeholder="' + cs('registration_consent_placeholder') + '"'), cs('registration_consent_hint')) +
        csField('client_registration.embed_origins', cs('embed_origins'),
          csTextarea('client_registration.embed_origins', (registration.embed_origins || []).join('\n'),
            ' rows="2" placeholder="' + cs('embed_origins_placeholder') + '"'), cs('embed_origins_hint')) +
        '</div>';
    }

    // Called once the settings page is drawn: the sections go before the document templates.
    function clientSettingsOpen($block, values) {
      if (!values || !values.client_registration) {
        return;  // a server without these settings: nothing to show, nothing is sent
      }
      var $before = $block.find('[data-templates]');
      var html = clientSettingsHtml(values);
      if ($before.length) {
        $before.before(html);
      } else {
        $block.find('.payplan-account__footer').before(html);
      }
      renumberRows($block, PROGRAMMES);
    }

    // The settings as stored, in the shape clientSettingsForm gives them.
    function clientSettingsStored(values) {
      if (!values || !values.client_registration) {
        return {};
      }
      var registration = values.client_registration;
      return {
        language: values.language, proposal_expiry_days: values.proposal_expiry_days,
        autopay_retry_days: values.autopay_retry_days || [],
        autopay_consent_text: _.pick(values.autopay_consent_text || {}, CLIENT_LANGUAGES),
        client_registration: {enabled: !!registration.enabled, consent_text: registration.consent_text || '',
          templates: registration.templates || [], embed_origins: registration.embed_origins || []}
      };
    }

    function formWhole(text) {
      var value = String(text === undefined || text === null ? '' : text).trim();
      return /^\d+$/.test(value) ? parseInt(value, 10) : (value === '' ? null : value);
    }

    // What the sections say now; {} when they are not on the page (nothing of theirs is sent then).
    function clientSettingsForm($block) {
      if (!$block.find('[data-client-settings]').length) {
        return {};
      }
      var retries = _.filter(fieldValue($block, 'autopay_retry_days').split(/[\s,;]+/), function (part) {
        return part !== '';
      });
      var origins = _.filter(_.map(String($block.find('[name="client_registration.embed_origins"]').val() || '')
        .split(/\n/), function (line) { return line.trim(); }), function (line) { return line !== ''; });
      var templates = _.map($block.find('[data-row-of="' + PROGRAMMES + '"]'), function (row) {
        var value = function (name) { return String($(row).find('[data-name="' + name + '"]').val() || '').trim(); };
        return {key: value('key'), title: value('title'), total: value('total'),
          installments_count: formWhole(value('installments_count')), period: value('period') || 'month',
          first_due_in_days: formWhole(value('first_due_in_days')) || 0};
      });
      return {
        language: fieldValue($block, 'language'),
        proposal_expiry_days: formWhole(fieldValue($block, 'proposal_expiry_days')),
        autopay_retry_days: _.map(retries, formWhole),
        // A consent text goes whole (both languages) when either changed: see clientSettingsPatch.
        autopay_consent_text: {ru: fieldValue($block, 'autopay_consent_text.ru'),
          en: fieldValue($block, 'autopay_consent_text.en')},
        client_registration: {enabled: $block.find('[name="client_registration.enabled"]').is(':checked'),
          consent_text: fieldValue($block, 'client_registration.consent_text'),
          templates: templates, embed_origins: origins}
      };
    }

    // The consent texts are sent as a pair: one language alone must never stand for both.
    function clientSettingsPatch(patch, form) {
      if (patch.autopay_consent_text && form.autopay_consent_text) {
        patch.autopay_consent_text = form.autopay_consent_text;
      }
      return patch;
    }

    // ---- [J] plans that start themselves (a section of the settings page, saved with it): the stage that
    // builds the plan from the template, the template (each number fixed, the deal's budget or a deal field),
    // the stages closed until the first payment, and what an early payment does when nobody chooses.
    var PR_KINDS = ['equal', 'annuity', 'differentiated'];
    var PR_PERIODS = ['month', '2weeks', 'week', 'quarter'];
    var PR_PAYOFF_MODES = ['shorten', 'lower'];

    function pr(path) {
      return escapeHtml(t('plan_rules.' + path));
    }

    function planRulesStageOptions(pipelines, current, withBlank) {
      var html = withBlank ? '<option value="">' + pr('stage_none') + '</option>' : '';
      var found = false;
      _.each(pipelines, function (pipeline) {
        _.each(pipeline.statuses, function (status) {
          var selected = _.contains([].concat(current || []), status.id) ? ' selected' : '';
          found = found || !!selected;
          html += '<option value="' + pipeline.id + ':' + status.id + '"' + selected + '>' +
            escapeHtml(pipeline.name + ' → ' + status.name) + '</option>';
        });
      });
      // A stored stage amoCRM no longer lists stays selectable: saving must never drop it silently.
      _.each(_.difference([].concat(current || []), _.flatten(_.map(pipelines, function (pipeline) {
        return _.pluck(pipeline.statuses, 'id');
      }))), function (id) {
        html += '<option value=":' + id + '" selected>' + escapeHtml(tf('plan_rules.stage_unknown', {id: id})) +
          '</option>';
      });
      return html;
    }

    // One number of the template: the source (a fixed value, the deal's budget, a deal field) and the value.
    function planRulesValueHtml(name, label, source, leadFields, withAmount, hint) {
      source = source || {source: 'fixed', value: ''};
      var current = source.source === 'field' ? 'field:' + source.field_id : source.source;
      var options = [{value: 'fixed', label: pr('source_fixed')}]
        .concat(withAmount ? [{value: 'amount', label: pr('source_amount')}] : [])
        .concat(_.map(leadFields || [], function (field) {
          return {value: 'field:' + field.id, label: tf('plan_rules.source_field', {name: field.name})};
        }));
      if (source.source === 'field' && !_.findWhere(options, {value: current})) {
        options.push({value: current, label: tf('plan_rules.source_field', {name: '#' + source.field_id})});
      }
      var select = '<select class="payplan-input" name="' + name + '.source" data-pr-source>' +
        _.map(options, function (option) {
          return '<option value="' + escapeHtml(option.value) + '"' + (option.value === current ? ' selected' : '') +
            '>' + escapeHtml(option.label) + '</option>';
        }).join('') + '</select>';
      var value = source.source === 'fixed' && source.value !== null && source.value !== undefined ? source.value : '';
      var input = '<input class="payplan-input payplan-input--short" name="' + name + '.value" inputmode="decimal"' +
        ' value="' + escapeHtml(String(value)) + '"' + (source.source === 'fixed' ? '' : ' hidden') + '>';
      return '<div class="payplan-field"><label class="payplan-label">' + label + '</label>' +
        '<div class="payplan-plan-rules__value">' + select + input + '</div>' +
        (hint ? '<div class="payplan-muted">' + hint + '</div>' : '') +
        '<div class="payplan-field-error" data-error-for="' + name + '"></div></div>';
    }

    function planRulesHtml(values, options) {
      var rules = values.plan_autostart || {};
      var stage = rules.stage || {};
      var template = rules.template || {};
      var gate = rules.gate || {};
      var pipelines = options ? options.pipelines : [];
      var leadFields = options ? options.lead_fields : [];
      var tpl = 'plan_autostart.template.';
      var choice = function (name, list, current, prefix) {
        return '<select class="payplan-input" name="' + name + '">' + _.map(list, function (code) {
          return '<option value="' + code + '"' + (code === current ? ' selected' : '') + '>' + pr(prefix + code) +
            '</option>';
        }).join('') + '</select>';
      };
      var fees = _.map(template.fees || [], function (fee) {
        var amount = fee.amount || {};
        return fee.label + '; ' + (amount.source === 'fixed' ? amount.value : '');
      }).join('\n');
      var stageControl = pipelines.length
        ? '<select class="payplan-input" name="plan_autostart.stage">' +
          planRulesStageOptions(pipelines, stage.status_id, true) + '</select>'
        : '<input class="payplan-input payplan-input--short" name="plan_autostart.stage" inputmode="numeric" value="' +
          escapeHtml(stage.status_id ? (stage.pipeline_id || '') + ':' + stage.status_id : '') + '">';
      var gateControl = pipelines.length
        ? '<select class="payplan-input" name="plan_autostart.gate.status_ids" multiple size="4">' +
          planRulesStageOptions(pipelines, gate.status_ids || [], false) + '</select>'
        : '<input class="payplan-input" name="plan_autostart.gate.status_ids" value="' +
          escapeHtml((gate.status_ids || []).join(', ')) + '">';
      return '<div class="payplan-account__section" data-plan-rules>' +
        '<div class="payplan-block__title">' + pr('section') + '</div>' +
        '<div class="payplan-muted">' + pr('hint') + '</div>' +
        '<label class="payplan-check"><input type="checkbox" name="plan_autostart.enabled"' +
        (rules.enabled ? ' checked' : '') + '> ' + pr('enabled') + '</label>' +
        '<div class="payplan-field-error" data-error-for="plan_autostart.enabled"></div>' +
        '<div class="payplan-field"><label class="payplan-label">' + pr('stage') + '</label>' + stageControl +
        '<div class="payplan-muted">' + pr('stage_hint') + '</div>' +
        '<div class="payplan-field-error" data-error-for="plan_autostart.stage"></div></div>' +
        '<div class="payplan-grid payplan-grid--2">' +
        '<div class="payplan-field"><label class="payplan-label">' + pr('kind') + '</label>' +
        choice(tpl + 'plan', PR_KINDS, template.plan || 'equal', 'kind_') +
        '<div class="payplan-field-error" data-error-for="' + tpl + 'plan"></div></div>' +
        '<div class="payplan-field"><label class="payplan-label">' + pr('period') + '</label>' +
        choice(tpl + 'period', PR_PERIODS, template.period || 'month', 'period_') +
        '<div class="payplan-field-error" data-error-for="' + tpl + 'period"></div></div>' +
        planRulesValueHtml(tpl + 'total', pr('total'), template.total || {source: 'amount'}, leadFields, true) +
        planRulesValueHtml(tpl + 'installments_count', pr('count'), template.installments_count, leadFields, false) +
        planRulesValueHtml(tpl + 'due_day', pr('due_day'), template.due_day, leadFields, false, pr('due_day_hint')) +
        '<div class="payplan-field"><label class="payplan-label">' + pr('first_due_in_days') + '</label>' +
        '<input class="payplan-input payplan-input--short" name="' + tpl + 'first_due_in_days" inputmode="numeric"' +
        ' value="' + escapeHtml(String(template.first_due_in_days || 0)) + '">' +
        '<div class="payplan-field-error" data-error-for="' + tpl + 'first_due_in_days"></div></div>' +
        planRulesValueHtml(tpl + 'annual_rate', pr('annual_rate'), template.annual_rate, leadFields, false,
          pr('annual_rate_hint')) +
        planRulesValueHtml(tpl + 'grace_periods', pr('grace_periods'), template.grace_periods, leadFields, false) +
        '</div>' +
        csField(tpl + 'fees', pr('fees'), '<textarea class="payplan-input" id="payplan-cs-' +
          (tpl + 'fees').replace(/\./g, '-') + '" name="' + tpl + 'fees" rows="2" placeholder="' +
          pr('fees_placeholder') + '">' + escapeHtml(fees) + '</textarea>', pr('fees_hint')) +
        '<label class="payplan-check"><input type="checkbox" name="plan_autostart.gate.enabled"' +
        (gate.enabled ? ' checked' : '') + '> ' + pr('gate_enabled') + '</label>' +
        '<div class="payplan-field"><label class="payplan-label">' + pr('gate_stages') + '</label>' + gateControl +
        '<div class="payplan-muted">' + pr('gate_hint') + '</div>' +
        '<div class="payplan-field-error" data-error-for="plan_autostart.gate"></div></div>' +
        '<div class="payplan-field"><label class="payplan-label">' + pr('payoff_mode') + '</label>' +
        choice('early_payoff_mode', PR_PAYOFF_MODES, values.early_payoff_mode || 'shorten', 'payoff_') +
        '<div class="payplan-muted">' + pr('payoff_mode_hint') + '</div>' +
        '<div class="payplan-field-error" data-error-for="early_payoff_mode"></div></div>' +
        '</div>';
    }

    // Called once the settings page is drawn, after the client sections.
    function planRulesOpen($block, values, options) {
      if (!values || !values.plan_autostart) {
        return;  // a server without these settings: nothing to show, nothing is sent
      }
      var $before = $block.find('[data-templates]');
      var html = planRulesHtml(values, options);
      if ($before.length) {
        $before.before(html);
      } else {
        $block.find('.payplan-account__footer').before(html);
      }
      $block.data('payplan-plan-rules', planRulesForm($block));
    }

    // The settings as stored, in the shape planRulesForm gives them (read back from the freshly drawn form).
    function planRulesStored($block) {
      return $block.data('payplan-plan-rules') || {};
    }

    // "pipeline:status" (the pickers), ":status" or a bare status (typed). amoCRM's status is a number; a
    // Bitrix24 stage is its code, whose own colon stays ("1:C1:UC_PAYING", or typed "C1:UC_PAYING").
    function planRulesStage(text) {
      var value = String(text || '').trim();
      var colon = value.indexOf(':');
      var head = colon < 0 ? null : value.slice(0, colon);
      var withPipeline = head !== null && /^\d*$/.test(head);
      var status = withPipeline ? value.slice(colon + 1) : value;
      var pipeline = withPipeline && head ? parseInt(head, 10) : null;
      if (/^\d+$/.test(status)) {
        return {pipeline_id: pipeline, status_id: parseInt(status, 10)};
      }
      return /^[A-Za-z][\w:]*$/.test(status) ? {pipeline_id: pipeline, status_id: status} : null;
    }

    function planRulesValue($block, name) {
      var source = fieldValue($block, name + '.source');
      if (source === 'amount') {
        return {source: 'amount'};
      }
      if (source.indexOf('field:') === 0) {
        return {source: 'field', field_id: parseInt(source.slice(6), 10)};
      }
      var value = fieldValue($block, name + '.value');
      return value === '' ? null : {source: 'fixed', value: /^\d+$/.test(value) ? parseInt(value, 10)
        : value.replace(',', '.')};
    }

    // What the section says now; {} when it is not on the page (nothing of it is sent then).
    function planRulesForm($block) {
      if (!$block.find('[data-plan-rules]').length) {
        return {};
      }
      var tpl = 'plan_autostart.template.';
      var $gate = $block.find('[name="plan_autostart.gate.status_ids"]');
      var gateIds = $gate.is('select') ? [].concat($gate.val() || [])
        : String($gate.val() || '').split(/[\s,;]+/);
      var fees = _.compact(_.map(fieldValue($block, tpl + 'fees').split(/\n/), function (line) {
        var at = line.lastIndexOf(';');
        var label = (at < 0 ? line : line.slice(0, at)).trim();
        var amount = at < 0 ? '' : line.slice(at + 1).trim();
        return label || amount ? {label: label, amount: {source: 'fixed',
          value: normalizedAmount(amount) || amount}} : null;
      }));
      var days = fieldValue($block, tpl + 'first_due_in_days');
      return {
        plan_autostart: {
          enabled: $block.find('[name="plan_autostart.enabled"]').is(':checked'),
          stage: planRulesStage(fieldValue($block, 'plan_autostart.stage')) || {pipeline_id: null, status_id: null},
          template: {
            plan: fieldValue($block, tpl + 'plan'), period: fieldValue($block, tpl + 'period'),
            total: planRulesValue($block, tpl + 'total'),
            installments_count: planRulesValue($block, tpl + 'installments_count'),
            due_day: planRulesValue($block, tpl + 'due_day'),
            first_due_in_days: /^\d+$/.test(days) ? parseInt(days, 10) : (days || 0),
            annual_rate: planRulesValue($block, tpl + 'annual_rate'),
            grace_periods: planRulesValue($block, tpl + 'grace_periods'),
            fees: fees
          },
          gate: {enabled: $block.find('[name="plan_autostart.gate.enabled"]').is(':checked'),
            status_ids: _.compact(_.map(gateIds, function (value) {
              var stage = planRulesStage(value);
              return stage ? stage.status_id : null;
            }))}
        },
        early_payoff_mode: fieldValue($block, 'early_payoff_mode')
      };
    }

    // The rules go whole when anything of them changed: a template is one thing, never half of two.
    function planRulesPatch(patch, form) {
      if (patch.plan_autostart && form.plan_autostart) {
        patch.plan_autostart = form.plan_autostart;
      }
      return patch;
    }

    function bindPlanRulesEvents() {
      on('change', '.payplan-account [data-pr-source]', function () {
        var $select = $(this);
        $select.siblings('input').prop('hidden', $select.val() !== 'fixed');
      });
    }

    function clientSettingsCopy($button) {
      var $block = $button.closest('.payplan-account');
      var $source = $block.find('[data-cs-copy-source="' + $button.attr('data-copy') + '"]');
      var $result = $block.find('[data-cs-copy-result]');
      var done = function () { $result.text(t('client_settings.copied')); };
      var byHand = function () {
        $source.trigger('select');
        $result.text(t('client_settings.copy_by_hand'));
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText($source.val()).then(done, byHand);
      } else {
        $source.trigger('select');
        try {
          document.execCommand('copy');
          done();
        } catch (error) {
          byHand();
        }
      }
    }

    function bindClientSettingsEvents() {
      on('click', '.payplan-account ' + action('cs-copy'), function () { clientSettingsCopy($(this)); });
      on('click', '.payplan-account ' + action('cs-programme-add'), function () {
        var $block = $(this).closest('.payplan-account');
        $block.find('[data-rows="' + PROGRAMMES + '"]').append(programmeRowHtml());
        renumberRows($block, PROGRAMMES);
      });
      on('click', '.payplan-account ' + action('cs-programme-remove'), function () {
        var $block = $(this).closest('.payplan-account');
        $(this).closest('[data-row-of]').remove();
        renumberRows($block, PROGRAMMES);
      });
    }

    // ---- document templates (a section of the settings page; its buttons act on the template alone)

    function templatesRoot($inside) {
      return $inside.closest('.payplan-account').find('[data-templates]');
    }

    function templateKind($section) {
      return $section.find('[data-template-kind]').val() || TEMPLATE_KINDS[0];
    }

    function showTemplate($section, body) {
      $section.find('[data-template-source]').val(body.source);
      $section.find('[data-template-state]').text(body.is_default ? t('account.tpl_default')
        : tf('account.tpl_custom', {date: timestamp(body.updated_at)}));
      $section.find('[data-template-variables]').html(_.map(body.variables || {}, function (meaning, name) {
        return '<dt><code>' + escapeHtml(name) + '</code></dt><dd>' + escapeHtml(meaning) + '</dd>';
      }).join(''));
    }

    function templateCall($section, request, done) {
      var $buttons = $section.find('[data-template-button]');
      clearErrors($section);
      $section.find('[data-template-result]').text('');
      $buttons.prop('disabled', true);
      return request.then(done, function (error) {
        showErrors($section, error);
      }).always(function () { $buttons.prop('disabled', false); });
    }

    function loadTemplate($block) {
      var $section = templatesRoot($block.find('[data-templates]'));
      var kind = templateKind($section);
      $section.find('[data-template-state]').text(t('account.tpl_loading'));
      $section.data('kind-seq', ($section.data('kind-seq') || 0) + 1);
      var seq = $section.data('kind-seq');
      templateCall($section, api('GET', '/account/templates/' + kind), function (body) {
        if (seq === $section.data('kind-seq')) {
          showTemplate($section, body);
        }
      });
    }

    function saveTemplate($section) {
      var source = $section.find('[data-template-source]').val();
      templateCall($section, api('PUT', '/account/templates/' + templateKind($section), {source: source}),
        function (body) {
          showTemplate($section, body);
          $section.find('[data-template-result]').text(t('account.tpl_saved'));
        });
    }

    function resetTemplate($section) {
      templateCall($section, api('DELETE', '/account/templates/' + templateKind($section)), function (body) {
        showTemplate($section, body);
        $section.find('[data-template-result]').text(t('account.tpl_reset_done'));
      });
    }

    // The tab is opened on the click itself (a browser blocks one opened later), then given the PDF.
    function previewTemplate($section) {
      var kind = templateKind($section);
      var tab = window.open('', '_blank');
      if (tab && tab.document) {
        tab.document.title = t('account.tpl_preview');
        tab.document.body.textContent = t('account.tpl_preparing');
      }
      var request = fetchFile({url: '/api/v1/account/templates/' + kind + '/preview', type: 'POST',
        data: JSON.stringify({source: $section.find('[data-template-source]').val()}),
        contentType: 'application/json'});
      templateCall($section, request, function (pdf) {
        if (tab && !tab.closed) {
          tab.location.href = URL.createObjectURL(pdf.blob);
          $section.find('[data-template-result]').text(t('account.tpl_preview_ready'));
        } else {
          saveBlob(pdf.blob, pdf.filename || kind + '-preview.pdf');
          $section.find('[data-template-result]').text(t('account.tpl_preview_downloaded'));
        }
      }).fail(function () {
        if (tab && !tab.closed) {
          tab.close();
        }
      });
    }

    // ---- YooKassa beside CloudPayments: the gateway of cards and of SBP, the shop's keys (write-only key)

    function yookassaStored(values) {
      var gateways = values.gateways || {};
      var yookassa = values.yookassa || {};
      return {gateways: {cards: gateways.cards || 'cloudpayments', sbp: gateways.sbp || ''},
        yookassa: {shop_id: yookassa.shop_id || '', payout_agent_id: yookassa.payout_agent_id || ''}};
    }

    function yookassaBody($block, body) {
      if (!$block.find('[name="yookassa.shop_id"]').length) {
        return;
      }
      body.gateways = {cards: fieldValue($block, 'gateways.cards') || 'cloudpayments',
        sbp: fieldValue($block, 'gateways.sbp') || ''};
      body.yookassa = {shop_id: fieldValue($block, 'yookassa.shop_id')};
      // The key is write-only: sent only when typed; an empty field keeps the stored one.
      if (fieldValue($block, 'yookassa.secret_key')) {
        body.yookassa.secret_key = fieldValue($block, 'yookassa.secret_key');
      }
      yookassaPayoutKeysBody($block, body.yookassa);
    }

    // [K] the payout gateway's keys (automatic payouts): the agent id, and the key only when typed.
    function yookassaPayoutKeysBody($block, yookassa) {
      if (!$block.find('[name="yookassa.payout_agent_id"]').length) {
        return;
      }
      yookassa.payout_agent_id = fieldValue($block, 'yookassa.payout_agent_id');
      if (fieldValue($block, 'yookassa.payout_secret_key')) {
        yookassa.payout_secret_key = fieldValue($block, 'yookassa.payout_secret_key');
      }
    }

    function showYooKassa($block, yookassa) {
      if (!yookassa) {
        return;
      }
      $block.find('[name="yookassa.secret_key"]').val('')
        .attr('placeholder', t(yookassa.secret_key_set ? 'account.cp_secret_set' : 'account.cp_secret_missing'));
      $block.find('[data-yk-status]').text(t(yookassa.connected ? 'account.yk_connected' : 'account.yk_not_connected'))
        .toggleClass('payplan-note--ok', yookassa.connected).toggleClass('payplan-note--warning', !yookassa.connected);
      $block.find('[name="yookassa.payout_secret_key"]').val('')
        .attr('placeholder', t(yookassa.payout_secret_key_set ? 'account.cp_secret_set' : 'account.cp_secret_missing'));
      $block.find('[data-yk-payouts-status]').text(t(yookassa.payouts_connected ? 'account.yk_payouts_connected'
        : 'account.yk_payouts_hint'));
    }

    function showCloudPayments($block, cp) {
      if (!cp) {
        return;
      }
      $block.find('[name="cloudpayments.api_secret"]').val('')
        .attr('placeholder', t(cp.api_secret_set ? 'account.cp_secret_set' : 'account.cp_secret_missing'));
      $block.find('[data-cp-status]').text(t(cp.connected ? 'account.cp_connected' : 'account.cp_not_connected'))
        .toggleClass('payplan-note--ok', cp.connected).toggleClass('payplan-note--warning', !cp.connected);
      $block.find('[data-cp-last]').text(cloudPaymentsLast(cp.last_notification));
    }

    function testCloudPayments($button) {
      var $block = $button.closest('.payplan-account');
      var $result = $block.find('[data-cp-result]').text('');
      $button.prop('disabled', true).addClass('is-busy');
      api('POST', '/account/cloudpayments/test', {}).then(function (answer) {
        var key = answer.verified ? 'cp_test_ok'
          : (answer.error_code === 'cloudpayments_not_connected' ? 'cp_test_not_connected' : 'cp_test_failed');
        $result.text(t('account.' + key));
        $block.find('[data-cp-last]').text(cloudPaymentsLast(answer.last_notification));
      }, function (error) {
        $result.text(error.message || t('account.cp_test_failed'));
      }).always(function () { $button.prop('disabled', false).removeClass('is-busy'); });
    }

    // ---- collections (dunning): the card's reminders block, the debtors-today worklist, the ladder editor

    var DUNNING_CHANNELS = ['client_email', 'client_sms', 'client_whatsapp', 'client_telegram', 'manager_task', 'note'];
    var DUNNING_CLIENT_CHANNELS = ['client_email', 'client_sms', 'client_whatsapp', 'client_telegram'];
    var DUNNING_OUTCOMES = ['reached', 'no_answer', 'wrong_number', 'promised', 'refused'];
    var DUNNING_ASSIGNEES = ['responsible', 'head_of_sales', 'lawyer', 'user'];
    var DUNNING_ACTIONS = ['move_to_stage', 'assign_user', 'late_fee', 'write_off_decision'];
    var DUNNING_BUCKETS = ['due_next_7_days', 'overdue_1_30', 'overdue_31_90', 'overdue_91_180', 'overdue_over_180'];
    var DUNNING_END = ['', 'lawyer', 'monthly', 'write_off'];
    // Each messaging channel's options as the settings page edits them; any other stored option is kept.
    var DUNNING_PROVIDERS = {sms: ['sender'], whatsapp: ['phone_number_id', 'template', 'language'],
      telegram: ['bot_username']};
    var DEBTORS_PAGE_SIZE = 20;
    var dunning = {card: null, lead: 0, seq: 0, debtors: {bucket: '', page: 1, seq: 0, rows: []}};

    function dunningMoment(text) {
      if (!text) {
        return '';
      }
      var moment = new Date(text);
      return timestamp(text) + ' ' + pad(moment.getHours()) + ':' + pad(moment.getMinutes());
    }

    function dunningChannel(code) {
      return t('dunning.channel_' + code);
    }

    function dunningOption(value, label, selected) {
      return '<option value="' + escapeHtml(value) + '"' + (selected ? ' selected' : '') + '>' + escapeHtml(label) +
        '</option>';
    }

    function dunningField(label, control, errorFor, extraClass, only) {
      return '<div class="payplan-field' + (extraClass ? ' ' + extraClass : '') + '"' +
        (only ? ' data-action-only="' + only + '"' : '') + '>' +
        (label ? '<label class="payplan-label">' + escapeHtml(label) + '</label>' : '') + control +
        (errorFor === null ? '' : '<div class="payplan-field-error" data-error-for="' + escapeHtml(errorFor) + '"></div>') +
        '</div>';
    }

    function tomorrowIso() {
      var now = new Date();
      return isoDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1));
    }

    // The lines a manager acts on: unpaid, not a late fee, the oldest overdue first.
    function dunningOpenLines(deal) {
      var lines = deal && deal.schedule ? deal.schedule.installments : [];
      return _.filter(lines, function (line) {
        return line.kind !== 'fee' && _.contains(OPEN_LINES, line.status);
      });
    }

    function dunningLineOptions(lines, currency, selected) {
      return _.map(lines, function (line) {
        var remainder = (kopecks(line.amount) || 0) - (kopecks(line.paid) || 0);
        return dunningOption(line.seq, tf('dunning.line_option', {seq: line.seq, date: day(line.due_date),
          amount: money(amountString(remainder), currency, true)}), String(line.seq) === String(selected));
      }).join('');
    }

    // -- the card block

    function remindersSlot() {
      return panelRoot().find('[data-reminders]');
    }

    function remindersWanted(deal) {
      return !!(deal && deal.schedule && deal.status !== 'no_plan' && deal.direction !== 'outgoing');
    }

    // Called after every render of the panel: shows what is known at once, then asks the server again.
    function remindersLoad() {
      var deal = panel.deal;
      if (!remindersWanted(deal)) {
        return;
      }
      if (!remindersSlot().length) {
        panelRoot().find('.payplan-card').append('<section class="payplan-section payplan-reminders" ' +
          'data-payplan-section="reminders" data-reminders></section>');
      }
      if (dunning.card && dunning.lead === deal.lead_id) {
        remindersRender();
      }
      var seq = dunning.seq += 1;
      var lead = deal.lead_id;
      api('GET', '/deals/' + lead + '/dunning').then(function (card) {
        if (seq === dunning.seq && panel.deal && panel.deal.lead_id === lead) {
          dunning.card = card;
          dunning.lead = lead;
          remindersRender();
        }
      }, function (error) {
        if (seq === dunning.seq && !(dunning.card && dunning.lead === lead)) {
          remindersSlot().html('<div class="payplan-muted">' + escapeHtml(error.message) + '</div>');
        }
      });
    }

    function remindersModel(deal, card) {
      var today = isoDate(new Date());
      var promised = _.filter(_.pluck(card.lines, 'paused_until'), function (date) {
        return date && date >= today;
      }).sort().pop() || '';
      var lastDecision = _.last(card.decisions || []);
      var fees = _.filter(deal.schedule.installments, function (line) { return line.kind === 'fee'; });
      return {days: deal.days_overdue || 0, promised: promised, next: card.next_step, decision: lastDecision,
        fees: fees, sends: (card.sends || []).slice().reverse(), calls: (card.calls || []).slice().reverse(),
        penalties: card.penalties || [], can_act: dunningOpenLines(deal).length > 0};
    }

    function remindersFacts(model) {
      var facts = [];
      var fact = function (key, label, value, tone) {
        facts.push('<div class="payplan-reminders__fact' + (tone ? ' is-' + tone : '') + '" data-reminders-fact="' +
          key + '"><span>' + escapeHtml(label) + '</span><b>' + escapeHtml(value) + '</b></div>');
      };
      fact('days_overdue', t('dunning.days_overdue'), model.days ? tf('dunning.days_value', {days: model.days})
        : t('dunning.not_overdue'), model.days ? 'late' : '');
      if (model.promised) {
        fact('promised', t('dunning.promised'), day(model.promised));
      }
      fact('next_step', t('dunning.next_step'), model.next ? tf('dunning.next_step_value', {date: day(model.next.date),
        channel: dunningChannel(model.next.channel), seq: model.next.seq}) : t('dunning.next_step_none'));
      if (model.decision) {
        fact('decision', t('dunning.decision'), tf('dunning.decision_value', {
          decision: t('dunning.decision_' + model.decision.decision), date: timestamp(model.decision.at)}), 'late');
      }
      return '<div class="payplan-reminders__facts">' + facts.join('') + '</div>';
    }

    function remindersButtons(model) {
      if (!model.can_act) {
        return '';
      }
      var button = function (name, label, tone) {
        return '<button type="button" class="payplan-button' + (tone ? ' payplan-button--' + tone : '') +
          '" data-payplan-action="' + name + '">' + escapeHtml(label) + '</button>';
      };
      return '<div class="payplan-reminders__actions">' + button('dun-remind', t('dunning.remind_now')) +
        button('dun-call', t('dunning.record_call')) + button('dun-promise', t('dunning.promise')) +
        button('dun-lawyer', t('dunning.to_lawyer'), 'ghost') + '</div>';
    }

    // The fee lines of the plan in force, then the waivers (a waived fee leaves the plan; its record stays).
    function remindersFees(model, currency) {
      var waivers = _.where(model.penalties, {kind: 'waiver'});
      if (!model.fees.length && !waivers.length) {
        return '';
      }
      return '<div class="payplan-reminders__fees"><div class="payplan-reminders__title">' +
        escapeHtml(t('dunning.penalties')) + '</div>' + _.map(model.fees, function (line) {
          var unpaid = (kopecks(line.amount) || 0) - (kopecks(line.paid) || 0);
          return '<div class="payplan-reminders__fee" data-fee-seq="' + line.seq + '"><div class="payplan-item__row">' +
            '<span>' + escapeHtml(line.label || t('kind.fee')) + '</span><b>' + escapeHtml(money(line.amount, currency, true)) +
            '</b></div><div class="payplan-item__row payplan-item__meta"><span>' +
            escapeHtml(word('line_status.' + line.status)) + '</span>' +
            (unpaid > 0 ? '<button type="button" class="payplan-link-button" data-payplan-action="dun-waive" data-seq="' +
              line.seq + '">' + escapeHtml(t('dunning.waive')) + '</button>' : '') + '</div></div>';
        }).join('') + _.map(waivers, function (row) {
          return '<div class="payplan-reminders__fee is-waived" data-fee-waiver="' + row.fee_seq + '">' +
            '<div class="payplan-item__row"><span>' + escapeHtml(tf('dunning.fee_waived', {date: day(row.charged_on)})) +
            '</span><b>' + escapeHtml(money(row.amount, currency, true)) + '</b></div><div class="payplan-item__meta">' +
            escapeHtml(row.reason) + '</div></div>';
        }).join('') + '</div>';
    }

    function remindersLog(model) {
      var sends = _.map(model.sends, function (send) {
        var failed = send.status === 'failed';
        var status = t('dunning.status_' + send.status) + (send.error ? ': ' + send.error : '');
        // A task or a note goes to a user of the CRM: their name, not their id.
        var recipient = /^\d+$/.test(send.recipient || '') && !_.contains(DUNNING_CLIENT_CHANNELS, send.channel)
          ? managerName(parseInt(send.recipient, 10)) : send.recipient;
        return '<li class="payplan-item payplan-reminders__send" data-send-status="' + escapeHtml(send.status) + '">' +
          '<div class="payplan-item__row"><span class="payplan-item__title">' + escapeHtml(dunningChannel(send.channel)) +
          '</span><span class="payplan-item__date">' + escapeHtml(dunningMoment(send.at)) + '</span></div>' +
          '<div class="payplan-item__meta">' + escapeHtml(tf('dunning.for_line', {seq: send.seq}) +
            (recipient ? ' · ' + tf('dunning.to_whom', {recipient: recipient}) : '')) + '</div>' +
          '<div class="payplan-reminders__result"><span class="payplan-chip payplan-chip--' +
          (failed ? 'failed' : (send.status === 'sent' ? 'paid' : 'issued')) + '" data-send-result>' +
          escapeHtml(status) + '</span></div></li>';
      });
      var calls = _.map(model.calls, function (call) {
        return '<li class="payplan-item payplan-reminders__call"><div class="payplan-item__row"><span class="payplan-item__title">' +
          escapeHtml(t('dunning.call') + ': ' + t('dunning.outcome_' + call.outcome) +
            (call.promised_on ? ' ' + day(call.promised_on) : '')) + '</span><span class="payplan-item__date">' +
          escapeHtml(dunningMoment(call.at)) + '</span></div>' + (call.comment ? '<div class="payplan-item__meta">' +
          escapeHtml(call.comment) + '</div>' : '') + '</li>';
      });
      if (!sends.length && !calls.length) {
        return '<div class="payplan-muted" data-reminders-empty>' + escapeHtml(t('dunning.log_empty')) + '</div>';
      }
      return '<div class="payplan-reminders__title">' + escapeHtml(t('dunning.log')) + '</div>' +
        '<ul class="payplan-list payplan-reminders__log">' + calls.concat(sends).join('') + '</ul>';
    }

    function remindersRender() {
      var deal = panel.deal;
      var $slot = remindersSlot();
      if (!deal || !dunning.card || !$slot.length) {
        return;
      }
      var model = remindersModel(deal, dunning.card);
      $slot.toggleClass('is-open', panel.open.reminders !== false).html(
        '<button type="button" class="payplan-section__head" data-payplan-action="toggle"><span>' +
        escapeHtml(t('dunning.title')) + '</span>' + (model.days ? '<span class="payplan-section__count is-late">' +
        escapeHtml(tf('dunning.days_value', {days: model.days})) + '</span>' : '') + '</button>' +
        '<div class="payplan-reminders__body">' + remindersFacts(model) + remindersButtons(model) +
        remindersFees(model, deal.currency) + remindersLog(model) + '</div>');
    }

    function remindersDone(card, message) {
      dunning.card = card;
      dunning.lead = currentLeadId();
      loadDeal(true).then(function () { flash(message); });
    }

    // -- the dialogs (the card's and the worklist's): each acts on one lead, given explicitly

    function dunningDialog(kind, title, subtitle, fields, saveLabel) {
      return openDialog(kind, '<div class="payplan payplan-dialog payplan-dialog--narrow" data-dialog="' + kind + '">' +
        '<div class="payplan-dialog__head"><h2 class="payplan-dialog__title">' + escapeHtml(title) + '</h2>' +
        (subtitle ? '<div class="payplan-dialog__subtitle">' + escapeHtml(subtitle) + '</div>' : '') + '</div>' +
        '<div class="payplan-alert" role="alert"></div>' + fields +
        '<div class="payplan-dialog__footer"><button type="button" class="payplan-button payplan-button--primary" ' +
        'data-payplan-action="save" data-payplan-submit>' + escapeHtml(saveLabel) + '</button>' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="cancel">' +
        escapeHtml(t('common.cancel')) + '</button></div></div>');
    }

    function lineSelect(target) {
      if (target.lines) {
        return dunningField(t('dunning.line'), '<select class="payplan-input" name="seq">' +
          dunningLineOptions(target.lines, target.currency, target.seq) + '</select>', 'seq');
      }
      return '<input type="hidden" name="seq" value="' + escapeHtml(target.seq) + '">' +
        '<div class="payplan-field-error" data-error-for="seq"></div>';
    }

    function channelOptions(selected) {
      return _.map(DUNNING_CHANNELS, function (code) {
        return dunningOption(code, dunningChannel(code), code === selected);
      }).join('');
    }

    function openRemindDialog(target) {
      var preferred = target.email === '' && target.phone ? 'client_sms' : 'client_email';
      dunningDialog('dun-remind', t('dunning.remind_now'), target.subtitle || t('dunning.remind_hint'),
        lineSelect(target) + dunningField(t('dunning.channel'), '<select class="payplan-input" name="channel">' +
          channelOptions(target.channel || preferred) + '</select>', 'channel'), t('dunning.remind_save'))
        .data('target', target);
    }

    function openCallDialog(target) {
      var $root = dunningDialog('dun-call', t('dunning.record_call'), target.subtitle || t('dunning.call_hint'),
        lineSelect(target) + dunningField(t('dunning.outcome'), '<div class="payplan-radios">' +
          _.map(DUNNING_OUTCOMES, function (code, index) {
            return '<label><input type="radio" name="outcome" value="' + code + '"' + (index ? '' : ' checked') + '> ' +
              escapeHtml(t('dunning.outcome_' + code)) + '</label>';
          }).join('') + '</div>', 'outcome') +
        '<div data-promised-only style="display: none">' + dunningField(t('dunning.promised_date'),
          '<input class="payplan-input" type="date" name="date" min="' + tomorrowIso() + '">', 'date') + '</div>' +
        '<div class="payplan-note payplan-note--warning" data-refused-only style="display: none">' +
        escapeHtml(t('dunning.refused_hint')) + '</div>' +
        dunningField(t('dunning.comment'), '<textarea class="payplan-input" name="comment" rows="2"></textarea>', 'comment'),
        t('dunning.call_save'));
      $root.data('target', target);
    }

    function syncCallDialog($root) {
      var outcome = $root.find('[name="outcome"]:checked').val();
      $root.find('[data-promised-only]').toggle(outcome === 'promised');
      $root.find('[data-refused-only]').toggle(outcome === 'refused');
    }

    function openPromiseDialog(target) {
      dunningDialog('dun-promise', t('dunning.promise'), target.subtitle || t('dunning.promise_hint'),
        lineSelect(target) + dunningField(t('dunning.promised_date'), '<input class="payplan-input" type="date" ' +
          'name="date" min="' + tomorrowIso() + '">', 'date'), t('dunning.promise_save')).data('target', target);
    }

    function openLawyerDialog(target) {
      dunningDialog('dun-lawyer', t('dunning.to_lawyer'), target.subtitle || t('dunning.lawyer_hint'),
        dunningField(t('dunning.reason'), '<textarea class="payplan-input" name="reason" rows="2"></textarea>', 'reason') +
        '<div class="payplan-field-error" data-error-for="decision"></div>', t('dunning.lawyer_save'))
        .data('target', target);
    }

    function openWaiveDialog(target) {
      dunningDialog('dun-waive', t('dunning.waive'), t('dunning.waive_hint'),
        '<input type="hidden" name="seq" value="' + escapeHtml(target.seq) + '">' +
        '<div class="payplan-field-error" data-error-for="seq"></div>' +
        dunningField(t('dunning.reason'), '<textarea class="payplan-input" name="reason" rows="2"></textarea>', 'reason'),
        t('dunning.waive_save')).data('target', target);
    }

    function cardTarget() {
      var deal = panel.deal;
      var lines = dunningOpenLines(deal);
      var overdue = _.find(lines, function (line) { return line.status === 'overdue'; });
      return {lead: deal.lead_id, lines: lines, currency: deal.currency,
        seq: (overdue || lines[0] || {}).seq, done: remindersDone};
    }

    function dunningSubmit(path, body, message) {
      var $root = dialogRoot();
      var target = $root.data('target') || {};
      submit('POST', '/deals/' + target.lead + '/dunning/' + path, body, function (card) {
        target.done(card, message);
      });
    }

    function seqOf($root) {
      var value = fieldValue($root, 'seq');
      return /^\d+$/.test(value) ? parseInt(value, 10) : null;
    }

    function saveRemind() {
      var $root = dialogRoot();
      dunningSubmit('remind-now', {seq: seqOf($root), channel: fieldValue($root, 'channel')},
        tf('dunning.reminded', {channel: dunningChannel(fieldValue($root, 'channel'))}));
    }

    function saveCall() {
      var $root = dialogRoot();
      var outcome = $root.find('[name="outcome"]:checked').val();
      var body = {seq: seqOf($root), outcome: outcome, comment: fieldValue($root, 'comment')};
      if (outcome === 'promised' && fieldValue($root, 'date')) {
        body.date = fieldValue($root, 'date');
      }
      dunningSubmit('call-outcome', body, t(outcome === 'refused' ? 'dunning.call_refused_saved'
        : 'dunning.call_saved'));
    }

    function savePromise() {
      var $root = dialogRoot();
      var date = fieldValue($root, 'date');
      dunningSubmit('promise', date ? {seq: seqOf($root), date: date} : {seq: seqOf($root)},
        tf('dunning.promise_saved', {date: day(date)}));
    }

    function saveLawyer() {
      var $root = dialogRoot();
      var target = $root.data('target') || {};
      var body = {decision: 'lawyer', reason: fieldValue($root, 'reason')};
      if (target.seq) {
        body.seq = target.seq;
      }
      dunningSubmit('decision', body, t('dunning.lawyer_saved'));
    }

    function saveWaive() {
      var $root = dialogRoot();
      dunningSubmit('waive-fee', {seq: seqOf($root), reason: fieldValue($root, 'reason')},
        t('dunning.waived'));
    }

    // -- the worklist on the analytics page

    function debtorsRoot() {
      return analyticsPage().find('[data-debtors]');
    }

    // After each summary: the aging buckets become links to the worklist, and the worklist follows the filters.
    function debtorsAfterSummary(summary) {
      var $page = analyticsPage();
      $page.find('.payplan-aging__item').each(function (index) {
        var bucket = (summary.aging || [])[index];
        if (bucket) {
          $(this).attr({'data-bucket': bucket.bucket, 'data-payplan-action': 'debtors-bucket', role: 'button',
            tabindex: 0, title: t('dunning.bucket_open')});
        }
      });
      dunning.debtors.page = 1;
      if (!debtorsRoot().length) {
        $page.append('<section class="payplan-panel-box payplan-debtors" data-debtors></section>');
      }
      loadDebtors();
    }

    function debtorsParams() {
      var filters = _.omit(analyticsFilters(), 'date_from', 'date_to');
      if (dunning.debtors.bucket) {
        filters.bucket = dunning.debtors.bucket;
      }
      return _.extend(filters, {page: dunning.debtors.page, page_size: DEBTORS_PAGE_SIZE});
    }

    function loadDebtors() {
      var state = dunning.debtors;
      var seq = state.seq += 1;
      var $root = debtorsRoot().addClass('is-updating');
      api('GET', '/analytics/debtors-today', debtorsParams()).then(function (page) {
        if (seq === state.seq) {
          state.rows = page.results;
          $root.removeClass('is-updating').html(debtorsHtml(page));
        }
      }, function (error) {
        if (seq === state.seq) {
          $root.removeClass('is-updating').html(debtorsHead(null) + '<div class="payplan-muted">' +
            escapeHtml(error.message) + '</div>');
        }
      });
    }

    function debtorsHead(page) {
      var state = dunning.debtors;
      var chips = [''].concat(DUNNING_BUCKETS);
      var first = page && page.count ? (page.page - 1) * page.page_size + 1 : 0;
      return '<div class="payplan-rows__head"><div class="payplan-panel-box__title">' + escapeHtml(t('dunning.debtors_title')) +
        '</div>' + (page ? '<div class="payplan-pager"><span class="payplan-pager__range">' +
        escapeHtml(tf('analytics.range', {first: first, last: first ? first + page.results.length - 1 : 0,
          count: page.count})) + '</span><button type="button" class="payplan-icon-button" ' +
        'data-payplan-action="debtors-page" data-step="-1"' + (page.page > 1 ? '' : ' disabled') + '>‹</button>' +
        '<button type="button" class="payplan-icon-button" data-payplan-action="debtors-page" data-step="1"' +
        (page.page < page.pages ? '' : ' disabled') + '>›</button></div>' : '') + '</div>' +
        '<div class="payplan-debtors__buckets">' + _.map(chips, function (bucket) {
          return '<button type="button" class="payplan-chip-button' + (bucket === state.bucket ? ' is-active' : '') +
            '" data-payplan-action="debtors-bucket" data-bucket="' + bucket + '">' +
            escapeHtml(bucket ? t('aging.' + bucket) : t('dunning.bucket_all')) + '</button>';
        }).join('') + '</div>' + debtorsResultHtml(state.result);
    }

    // The last action's answer stays on the worklist when the list reloads after it.
    function debtorsResultHtml(result) {
      return '<div class="payplan-debtors__result" data-debtors-result role="status"' +
        (result ? ' data-tone="' + result.tone + '">' + escapeHtml(result.message) : '>') + '</div>';
    }

    function debtorNext(row) {
      if (row.paused_until) {
        return tf('dunning.paused_until', {date: day(row.paused_until)});
      }
      return row.next_step ? tf('dunning.next_short', {date: day(row.next_step.date),
        channel: dunningChannel(row.next_step.channel)}) : '—';
    }

    function debtorsHtml(page) {
      if (!page.count) {
        return debtorsHead(page) + '<div class="payplan-muted payplan-rows__empty" data-debtors-empty>' +
          escapeHtml(t('dunning.debtors_empty')) + '</div>';
      }
      var button = function (name, label, index) {
        return '<button type="button" class="payplan-chip-button" data-payplan-action="' + name + '" data-row="' +
          index + '">' + escapeHtml(label) + '</button>';
      };
      return debtorsHead(page) + '<table class="payplan-table payplan-table--debtors"><thead><tr>' +
        _.map(['col_client', 'col_phone', 'col_line', 'col_remaining', 'col_days', 'col_last_contact', 'col_next',
          'col_actions'], function (key) {
          return '<th' + (key === 'col_remaining' || key === 'col_days' ? ' class="payplan-table__money"' : '') + '>' +
            escapeHtml(t('dunning.' + key)) + '</th>';
        }).join('') + '</tr></thead><tbody>' + _.map(page.results, function (row, index) {
          return '<tr data-debtor="' + row.lead_id + '" data-seq="' + row.seq + '">' +
            '<td><a href="/leads/detail/' + row.lead_id + '" class="payplan-rows__deal">' +
            escapeHtml(row.client || row.deal_name || tf('analytics.unnamed_deal', {lead_id: row.lead_id})) + '</a>' +
            '<div class="payplan-table__note">' + escapeHtml(row.deal_name) + '</div></td>' +
            '<td>' + (row.phone ? '<a href="tel:' + escapeHtml(row.phone.replace(/[^\d+]/g, '')) + '">' +
              escapeHtml(row.phone) + '</a>' : '—') + '</td>' +
            '<td>' + escapeHtml(tf('dunning.line_short', {seq: row.seq, date: day(row.due_date)})) + '</td>' +
            '<td class="payplan-table__money">' + escapeHtml(money(row.remaining, null, true)) + '</td>' +
            '<td class="payplan-table__money payplan-table__late" data-days-overdue>' + row.days_overdue + '</td>' +
            '<td>' + escapeHtml(row.last_contact_at ? dunningMoment(row.last_contact_at) : '—') +
              (row.last_contact_channel ? '<div class="payplan-table__note">' +
                escapeHtml(dunningChannel(row.last_contact_channel)) + '</div>' : '') + '</td>' +
            '<td>' + escapeHtml(debtorNext(row)) + '</td>' +
            '<td class="payplan-debtors__actions">' + button('debtor-remind', t('dunning.act_remind'), index) +
              button('debtor-task', t('dunning.act_task'), index) + button('debtor-promise', t('dunning.act_promise'), index) +
              button('debtor-lawyer', t('dunning.act_lawyer'), index) + '</td></tr>';
        }).join('') + '</tbody></table>';
    }

    function debtorTarget(index) {
      var row = dunning.debtors.rows[index];
      if (!row) {
        return null;
      }
      return {lead: row.lead_id, seq: row.seq, email: row.email, phone: row.phone,
        subtitle: tf('dunning.debtor_subtitle', {client: row.client || row.deal_name || row.lead_id,
          seq: row.seq, date: day(row.due_date), amount: money(row.remaining, null, true)}),
        done: function (card, message) {
          debtorsResult(message);
          loadDebtors();
        }};
    }

    function debtorsResult(message, tone) {
      dunning.debtors.result = message ? {message: message, tone: tone || 'ok'} : null;
      setTimeout(function () {
        debtorsRoot().find('[data-debtors-result]').attr('data-tone', tone || 'ok').text(message);
      }, 0);
    }

    // The worklist's task button: one click, a task for the responsible manager now.
    function debtorTask($button) {
      var target = debtorTarget(parseInt($button.attr('data-row'), 10));
      if (!target || $button.prop('disabled')) {
        return;
      }
      $button.prop('disabled', true).addClass('is-busy');
      api('POST', '/deals/' + target.lead + '/dunning/remind-now', {seq: target.seq, channel: 'manager_task'})
        .then(function () {
          target.done(null, t('dunning.task_created'));
        }, function (error) {
          $button.prop('disabled', false).removeClass('is-busy');
          debtorsResult(error.message, 'error');
        });
    }

    // -- the ladder editor (a block of the settings page, saved with the page)

    function dunningSettingsRoot() {
      return $('.payplan-dunning-settings');
    }

    function stageChoices(pipelines, current, withNone) {
      var stages = withNone ? [{value: '', label: t('dunning.stage_none'), selected: !current}] : [];
      _.each(pipelines || [], function (pipeline) {
        _.each(pipeline.statuses || [], function (status) {
          stages.push({value: pipeline.id + ':' + status.id, label: pipeline.name + ' → ' + status.name,
            selected: !!current && current.status_id === status.id &&
              (!current.pipeline_id || current.pipeline_id === pipeline.id)});
        });
      });
      if (current && current.status_id && !_.findWhere(stages, {selected: true})) {
        stages.push({value: (current.pipeline_id || '') + ':' + current.status_id, selected: true,
          label: tf('account.stage_unknown', {pipeline: current.pipeline_id || '—', status: current.status_id})});
      }
      return _.map(stages, function (stage) { return dunningOption(stage.value, stage.label, stage.selected); }).join('');
    }

    function userChoices(users, current, noneLabel) {
      var options = [dunningOption('', noneLabel, !current)];
      _.each(idOptions(users, current, function (id) { return tf('account.user_unknown', {id: id}); }), function (user) {
        options.push(dunningOption(user.id, user.name, user.selected));
      });
      return options.join('');
    }

    // "pipeline:status" as stageChoices writes it. amoCRM's status is a number; a Bitrix24 stage is its code
    // and may hold a colon of its own ("1:C1:WON"), so only the first colon splits.
    function stageValue(text) {
      var value = String(text || '');
      var colon = value.indexOf(':');
      var pipeline = colon < 0 ? '' : value.slice(0, colon);
      var status = colon < 0 ? '' : value.slice(colon + 1);
      if (!status) {
        return null;
      }
      return {status_id: /^\d+$/.test(status) ? parseInt(status, 10) : status,
        pipeline_id: /^\d+$/.test(pipeline) ? parseInt(pipeline, 10) : null};
    }

    function stepActionCode(action) {
      if (!action) {
        return '';
      }
      return action.kind === 'assign_user' && !action.user_id ? 'assign_user:' + (action.role || 'lawyer') : action.kind;
    }

    function stepRow(step, context) {
      var action = step.action || {};
      var assignee = step.assignee || {kind: 'responsible'};
      var kind = stepActionCode(step.action);
      var actionOptions = [dunningOption('', t('dunning.action_none'), !kind)].concat(_.map(DUNNING_ACTIONS, function (code) {
        return dunningOption(code === 'assign_user' ? 'assign_user:lawyer' : code, t('dunning.action_' + code),
          kind === code || (code === 'assign_user' && kind.indexOf('assign_user:') === 0));
      }));
      actionOptions.push(dunningOption('assign_user', t('dunning.action_assign_named'), kind === 'assign_user'));
      var input = function (name, value, extra) {
        return '<input class="payplan-input' + (extra || '') + '" data-name="' + name + '" value="' +
          escapeHtml(value === null || value === undefined ? '' : value) + '" aria-label="' +
          escapeHtml(t('dunning.step_' + name.replace('action.', ''))) + '">';
      };
      return '<div class="payplan-ladder-step" data-row-of="steps" data-step-json="' + escapeHtml(JSON.stringify(step)) + '">' +
        '<div class="payplan-ladder-step__main">' +
        dunningField(t('dunning.step_day'), input('day', step.day, ' payplan-input--short'), null) +
        dunningField(t('dunning.step_channel'), '<select class="payplan-input" data-name="channel">' +
          channelOptions(step.channel) + '</select>', null) +
        dunningField(t('dunning.step_assignee'), '<select class="payplan-input" data-name="assignee.kind">' +
          _.map(DUNNING_ASSIGNEES, function (code) {
            return dunningOption(code, t('dunning.assignee_' + code), code === assignee.kind);
          }).join('') + '</select>', null) +
        dunningField(t('dunning.step_user'), '<select class="payplan-input" data-name="assignee.user_id">' +
          userChoices(context.users, assignee.user_id, '—') + '</select>', null, 'payplan-ladder-step__user') +
        '<button type="button" class="payplan-icon-button" data-payplan-action="dun-step-remove" title="' +
          escapeHtml(t('common.remove')) + '">×</button></div>' +
        // The first line's fields are narrow: their errors read below the line, at full width.
        '<div class="payplan-ladder-step__errors">' + _.map(['day', 'channel', 'assignee', 'assignee.user_id'],
          function (name) { return '<div class="payplan-field-error" data-main-error="' + name + '"></div>'; }).join('') +
        '</div>' +
        '<div class="payplan-ladder-step__more">' +
        dunningField(t('dunning.step_template'), input('template', step.template) , '', 'payplan-ladder-step__template') +
        dunningField(t('dunning.step_action'), '<select class="payplan-input" data-name="action.kind">' +
          actionOptions.join('') + '</select>', '') +
        dunningField(t('dunning.action_stage'), '<select class="payplan-input" data-name="action.stage">' +
          stageChoices(context.pipelines, action.kind === 'move_to_stage' ? action : null, true) + '</select>', '',
          'payplan-ladder-step__opt', 'move_to_stage') +
        dunningField(t('dunning.action_user'), '<select class="payplan-input" data-name="action.user_id">' +
          userChoices(context.users, action.kind === 'assign_user' ? action.user_id : null, '—') + '</select>', '',
          'payplan-ladder-step__opt', 'assign_user') +
        dunningField(t('dunning.fee_fixed'), input('action.fixed', action.fixed, ' payplan-input--money'), '',
          'payplan-ladder-step__opt', 'late_fee') +
        dunningField(t('dunning.fee_percent'), input('action.percent_per_day', action.percent_per_day, ' payplan-input--short'),
          '', 'payplan-ladder-step__opt', 'late_fee') +
        dunningField(t('dunning.fee_cap'), input('action.cap', action.cap, ' payplan-input--money'), '',
          'payplan-ladder-step__opt', 'late_fee') + '</div>' +
        '<label class="payplan-check payplan-ladder-step__cutoff"><input type="checkbox" data-name="after_cutoff"' +
          (step.after_cutoff ? ' checked' : '') + '> ' + escapeHtml(t('dunning.step_after_cutoff')) + '</label>' +
        '<div class="payplan-field-error payplan-ladder-step__error" data-step-error></div></div>';
    }

    // Every field's error slot is named after its place (`steps.2.day`), as the API's 422 names it.
    function renumberSteps($root) {
      $root.find('[data-row-of="steps"]').each(function (index, row) {
        $(row).find('[data-step-error]').attr('data-error-for', 'steps.' + index);
        $(row).find('[data-name]').each(function () {
          var name = 'steps.' + index + '.' + $(this).attr('data-name');
          $(this).attr('name', 'dunning.' + name);
          $(this).closest('.payplan-field').find('.payplan-field-error').attr('data-error-for', name);
        });
        $(row).find('[data-name="action.stage"]').closest('.payplan-field').find('.payplan-field-error')
          .attr('data-error-for', 'steps.' + index + '.action.status_id');
        $(row).find('[data-name="action.kind"]').closest('.payplan-field').find('.payplan-field-error')
          .attr('data-error-for', 'steps.' + index + '.action');
        $(row).find('[data-main-error]').each(function () {
          $(this).attr('data-error-for', 'steps.' + index + '.' + $(this).attr('data-main-error'));
        });
      });
      syncSteps($root);
    }

    function syncSteps($root) {
      $root.find('[data-row-of="steps"]').each(function () {
        var $row = $(this);
        var kind = String($row.find('[data-name="action.kind"]').val() || '').split(':')[0];
        var named = $row.find('[data-name="action.kind"]').val() === 'assign_user';
        $row.find('[data-action-only]').each(function () {
          var only = $(this).attr('data-action-only');
          $(this).toggle(only === kind && (only !== 'assign_user' || named));
        });
        $row.find('.payplan-ladder-step__user').toggle($row.find('[data-name="assignee.kind"]').val() === 'user');
      });
    }

    function dunningPenaltiesHtml(penalties) {
      var mode = !penalties ? '' : (penalties.percent_per_day ? 'percent' : 'fixed');
      var value = !penalties ? '' : (mode === 'percent' ? penalties.percent_per_day : penalties.fixed);
      return '<div class="payplan-account__section" data-dunning-penalties><div class="payplan-block__title">' +
        escapeHtml(t('dunning.penalties_title')) + '</div><div class="payplan-grid payplan-grid--2">' +
        dunningField(t('dunning.penalty_mode'), '<select class="payplan-input" name="dunning.penalties.mode">' +
          _.map(['', 'fixed', 'percent'], function (code) {
            return dunningOption(code, t('dunning.penalty_' + (code || 'none')), code === mode);
          }).join('') + '</select>', 'penalties') +
        dunningField(t('dunning.penalty_value'), '<input class="payplan-input" name="dunning.penalties.value" value="' +
          escapeHtml(value || '') + '" inputmode="decimal">', 'penalties.fixed', 'payplan-penalty-value') +
        dunningField(t('dunning.fee_cap'), '<input class="payplan-input" name="dunning.penalties.cap" value="' +
          escapeHtml(penalties && penalties.cap ? penalties.cap : '') + '" inputmode="decimal">', 'penalties.cap') +
        dunningField(t('dunning.penalty_grace'), '<input class="payplan-input payplan-input--short" type="number" ' +
          'name="dunning.penalties.grace_days" value="' + escapeHtml(penalties ? penalties.grace_days : 0) + '">',
          'penalties.grace_days') + '</div>' +
        '<div class="payplan-field-error" data-error-for="penalties.percent_per_day"></div></div>';
    }

    function dunningChannelsHtml(channels) {
      return '<div class="payplan-account__section" data-dunning-channels><div class="payplan-block__title">' +
        escapeHtml(t('dunning.channels_title')) + '</div><div class="payplan-muted">' +
        escapeHtml(t('dunning.channels_hint')) + '</div>' + _.map(DUNNING_PROVIDERS, function (options, channel) {
          var stored = channels[channel] || {enabled: false, has_secret: false, options: {}};
          return '<div class="payplan-dunning-channel" data-channel="' + channel + '">' +
            '<div class="payplan-dunning-channel__head"><label class="payplan-check"><input type="checkbox" ' +
            'name="dunning.channels.' + channel + '.enabled"' + (stored.enabled ? ' checked' : '') + '> ' +
            escapeHtml(t('dunning.provider_' + channel)) + '</label><span class="payplan-chip' +
            (stored.has_secret ? ' payplan-chip--paid' : '') + '" data-secret-state>' +
            escapeHtml(t(stored.has_secret ? 'dunning.secret_set' : 'dunning.secret_missing')) + '</span></div>' +
            '<div class="payplan-grid payplan-grid--2">' +
            dunningField(t('dunning.secret_' + channel), '<input class="payplan-input" type="password" ' +
              'autocomplete="new-password" name="dunning.channels.' + channel + '.secret" value="" placeholder="' +
              escapeHtml(t(stored.has_secret ? 'dunning.secret_set_placeholder' : 'dunning.secret_missing')) + '">',
              'channels.' + channel + '.secret') +
            _.map(options, function (option) {
              return dunningField(t('dunning.option_' + option), '<input class="payplan-input" name="dunning.channels.' +
                channel + '.options.' + option + '" value="' + escapeHtml((stored.options || {})[option] || '') + '">',
                'channels.' + channel + '.options.' + option);
            }).join('') + '</div><div class="payplan-field-error" data-error-for="channels.' + channel + '"></div></div>';
        }).join('') + '</div>';
    }

    function dunningSettingsHtml(body, options) {
      var policy = body.policy;
      var users = options && options.users && options.users.length ? _.where(options.users, {is_active: true}) : managers();
      var context = {users: users, pipelines: options ? options.pipelines : []};
      var hour = function (name, label) {
        return dunningField(label, '<input class="payplan-input payplan-input--short" type="number" min="0" max="23" ' +
          'name="dunning.' + name + '" value="' + escapeHtml(policy[name]) + '">', name);
      };
      return '<div class="payplan-account__head"><div class="payplan-account__title">' + escapeHtml(t('dunning.settings_title')) +
        '</div></div><div class="payplan-muted">' + escapeHtml(t(body.custom ? 'dunning.settings_hint'
          : 'dunning.settings_defaults')) + '</div><div class="payplan-alert" role="alert"></div>' +
        '<label class="payplan-check"><input type="checkbox" name="dunning.enabled"' + (body.enabled ? ' checked' : '') +
        '> ' + escapeHtml(t('dunning.enabled')) + '</label>' +
        '<div class="payplan-account__section"><div class="payplan-block__title">' + escapeHtml(t('dunning.ladder_title')) +
        '</div><div class="payplan-muted">' + escapeHtml(t('dunning.ladder_hint')) + '</div>' +
        '<div class="payplan-ladder" data-rows="steps">' + _.map(policy.steps, function (step) {
          return stepRow(step, context);
        }).join('') + '</div><button type="button" class="payplan-link-button" data-payplan-action="dun-step-add">+ ' +
        escapeHtml(t('dunning.add_step')) + '</button><div class="payplan-field-error" data-error-for="steps"></div></div>' +
        '<div class="payplan-account__section"><div class="payplan-block__title">' + escapeHtml(t('dunning.hours_title')) +
        '</div><div class="payplan-grid payplan-grid--2">' + hour('cutoff_hour', t('dunning.cutoff_hour')) +
        dunningField(t('dunning.postpone_max_days'), '<input class="payplan-input payplan-input--short" type="number" ' +
          'min="0" max="90" name="dunning.postpone_max_days" value="' + escapeHtml(policy.postpone_max_days) + '">',
          'postpone_max_days') +
        hour('quiet_start_hour', t('dunning.quiet_start_hour')) + hour('quiet_end_hour', t('dunning.quiet_end_hour')) +
        '</div></div>' +
        '<div class="payplan-account__section"><div class="payplan-block__title">' + escapeHtml(t('dunning.people_title')) +
        '</div><div class="payplan-grid payplan-grid--2">' +
        dunningField(t('dunning.head_of_sales'), '<select class="payplan-input" name="dunning.head_of_sales_user_id">' +
          userChoices(users, policy.head_of_sales_user_id, t('dunning.user_none')) + '</select>', 'head_of_sales_user_id') +
        dunningField(t('dunning.lawyer'), '<select class="payplan-input" name="dunning.lawyer_user_id">' +
          userChoices(users, policy.lawyer_user_id, t('dunning.user_none')) + '</select>', 'lawyer_user_id') +
        dunningField(t('dunning.end_of_ladder'), '<select class="payplan-input" name="dunning.end_of_ladder">' +
          _.map(DUNNING_END, function (code) {
            return dunningOption(code, t('dunning.end_' + (code || 'none')), code === (policy.end_of_ladder || ''));
          }).join('') + '</select>', 'end_of_ladder') + '</div></div>' +
        dunningPenaltiesHtml(policy.penalties) +
        '<div class="payplan-account__section" data-dunning-stages><div class="payplan-block__title">' +
        escapeHtml(t('dunning.stages_title')) + '</div><div class="payplan-muted">' + escapeHtml(t('dunning.stages_hint')) +
        '</div><div class="payplan-grid payplan-grid--2">' + _.map(body.buckets || DUNNING_BUCKETS, function (bucket) {
          return dunningField(t('aging.' + bucket), '<select class="payplan-input" name="dunning.stages.' + bucket + '">' +
            stageChoices(context.pipelines, (policy.stages || {})[bucket], true) + '</select>', 'stages.' + bucket);
        }).join('') + '</div></div>' +
        dunningChannelsHtml(body.channels || {}) +
        '<div class="payplan-account__result" data-dunning-result role="status"></div>';
    }

    function dunningSettingsOpen($account, options) {
      if (!$account.length) {
        return;
      }
      dunningSettingsRoot().remove();
      var $block = $('<div class="payplan payplan-dunning-settings"></div>').insertAfter($account).html(loadingHtml());
      api('GET', '/account/dunning').then(function (body) {
        $block.html(dunningSettingsHtml(body, options)).data({'payplan-stored': dunningStored(body),
          'payplan-channels': body.channels || {}, 'payplan-context': options});
        renumberSteps($block);
        syncPenalties($block);
      }, function (error) {
        $block.html(errorHtml(error.status === 404 ? {status: 404, message: t('dunning.settings_missing')} : error));
      });
    }

    // The ladder as stored, in the shape the form produces: what a save compares the form with.
    function dunningStored(body) {
      return _.extend({enabled: body.enabled}, _.pick(body.policy, 'steps', 'cutoff_hour', 'quiet_start_hour',
        'quiet_end_hour', 'postpone_max_days', 'head_of_sales_user_id', 'lawyer_user_id', 'penalties', 'stages',
        'end_of_ladder'));
    }

    function syncPenalties($block) {
      var mode = fieldValue($block, 'dunning.penalties.mode');
      $block.find('[data-dunning-penalties] .payplan-field').slice(1).toggle(!!mode);
      $block.find('.payplan-penalty-value .payplan-field-error')
        .attr('data-error-for', mode === 'percent' ? 'penalties.percent_per_day' : 'penalties.fixed');
      $block.find('.payplan-penalty-value .payplan-label').text(t(mode === 'percent' ? 'dunning.fee_percent'
        : 'dunning.fee_fixed'));
    }

    function formNumber(text) {
      var value = String(text === undefined || text === null ? '' : text).trim();
      return /^-?\d+$/.test(value) ? parseInt(value, 10) : (value === '' ? null : value);
    }

    function formMoney(text) {
      var value = String(text || '').trim();
      return value === '' ? null : normalizedAmount(value);
    }

    function stepBody($row) {
      var value = function (name) { return String($row.find('[data-name="' + name + '"]').val() || '').trim(); };
      var stored = JSON.parse($row.attr('data-step-json') || '{}');
      var code = value('action.kind');
      var kind = code.split(':')[0];
      var action = null;
      if (kind) {
        // What this form does not show of a stored action of the same kind is kept as it was.
        action = stored.action && stored.action.kind === kind ? _.clone(stored.action) : {kind: kind};
        if (kind === 'move_to_stage') {
          _.extend(action, stageValue(value('action.stage')) || {status_id: null});
          if (action.pipeline_id === null) {
            delete action.pipeline_id;
          }
        } else if (kind === 'assign_user') {
          if (code === 'assign_user') {
            action.user_id = formNumber(value('action.user_id'));
            if (action.user_id === null) {
              delete action.user_id;
            }
          } else {
            delete action.user_id;
            action.role = code.split(':')[1] || 'lawyer';
          }
        } else if (kind === 'late_fee') {
          _.each(['fixed', 'percent_per_day', 'cap'], function (name) {
            var amount = formMoney(value('action.' + name));
            if (amount === null) {
              delete action[name];
            } else {
              action[name] = amount;
            }
          });
        }
      }
      var assignee = value('assignee.kind') || 'responsible';
      return {day: formNumber(value('day')), channel: value('channel'), template: value('template'),
        after_cutoff: $row.find('[data-name="after_cutoff"]').is(':checked'),
        assignee: {kind: assignee, user_id: assignee === 'user' ? formNumber(value('assignee.user_id'))
          : (stored.assignee && stored.assignee.kind === assignee ? stored.assignee.user_id : null)},
        action: action};
    }

    function dunningForm($block) {
      var mode = fieldValue($block, 'dunning.penalties.mode');
      var penalties = null;
      if (mode) {
        var amount = formMoney(fieldValue($block, 'dunning.penalties.value'));
        penalties = {enabled: true, fixed: mode === 'fixed' ? amount : null,
          percent_per_day: mode === 'percent' ? amount : null, cap: formMoney(fieldValue($block, 'dunning.penalties.cap')),
          grace_days: formNumber(fieldValue($block, 'dunning.penalties.grace_days')) || 0};
      }
      var stages = {};
      _.each(DUNNING_BUCKETS, function (bucket) {
        var stage = stageValue(fieldValue($block, 'dunning.stages.' + bucket));
        if (stage) {
          stages[bucket] = stage;
        }
      });
      return {
        enabled: $block.find('[name="dunning.enabled"]').is(':checked'),
        steps: _.map($block.find('[data-row-of="steps"]'), function (row) { return stepBody($(row)); }),
        cutoff_hour: formNumber(fieldValue($block, 'dunning.cutoff_hour')),
        quiet_start_hour: formNumber(fieldValue($block, 'dunning.quiet_start_hour')),
        quiet_end_hour: formNumber(fieldValue($block, 'dunning.quiet_end_hour')),
        postpone_max_days: formNumber(fieldValue($block, 'dunning.postpone_max_days')),
        head_of_sales_user_id: formNumber(fieldValue($block, 'dunning.head_of_sales_user_id')),
        lawyer_user_id: formNumber(fieldValue($block, 'dunning.lawyer_user_id')),
        penalties: penalties, stages: stages,
        end_of_ladder: fieldValue($block, 'dunning.end_of_ladder')
      };
    }

    // Only what the form changed is sent; the steps, fees and stages go whole (the API replaces each whole).
    function dunningPatch(stored, form) {
      var patch = {};
      _.each(form, function (value, key) {
        var before = stored[key] === undefined ? null : stored[key];
        if (key === 'penalties' && before && value) {
          before = _.extend({}, before, {enabled: true});
        }
        if (JSON.stringify(value) !== JSON.stringify(before)) {
          patch[key] = value;
        }
      });
      return patch;
    }

    function channelPuts($block) {
      var stored = $block.data('payplan-channels') || {};
      var puts = [];
      _.each(DUNNING_PROVIDERS, function (names, channel) {
        var before = stored[channel] || {enabled: false, options: {}};
        var options = _.clone(before.options || {});
        _.each(names, function (name) {
          var value = fieldValue($block, 'dunning.channels.' + channel + '.options.' + name);
          if (value) {
            options[name] = value;
          } else {
            delete options[name];
          }
        });
        var secret = fieldValue($block, 'dunning.channels.' + channel + '.secret');
        var enabled = $block.find('[name="dunning.channels.' + channel + '.enabled"]').is(':checked');
        if (secret || enabled !== !!before.enabled || JSON.stringify(options) !== JSON.stringify(before.options || {})) {
          var body = {channel: channel, enabled: enabled, options: options};
          if (secret) {
            body.secret = secret;
          }
          puts.push(body);
        }
      });
      return puts;
    }

    function dunningResult($block, text, tone) {
      $block.find('[data-dunning-result]').text(text).attr('data-tone', tone || 'ok').show();
    }

    // Saved with the settings window's own button, after the account's settings; a 422 is shown by its step.
    function saveDunningSettings() {
      var $block = dunningSettingsRoot();
      if (!$block.length || !$block.data('payplan-stored') || $block.data('busy')) {
        return;
      }
      var patch = dunningPatch($block.data('payplan-stored'), dunningForm($block));
      var puts = channelPuts($block);
      clearErrors($block);
      if (!_.size(patch) && !puts.length) {
        dunningResult($block, t('dunning.saved_nothing'));
        return;
      }
      $block.data('busy', true);
      dunningResult($block, t('account.saving'));
      var failed = null;
      var saveChannels = function () {
        return _.reduce(puts, function (chain, body) {
          return chain.then(function () {
            return api('PUT', '/account/dunning/channels', body).then(function (answer) {
              $block.data('payplan-channels', answer.channels);
              refreshSecretStates($block, answer.channels);
            }, function (error) {
              failed = failed || _.extend({}, error, {fields: _.object(_.map(error.fields, function (messages, key) {
                return ['channels.' + body.channel + (key === 'channel' ? '' : '.' + key), messages];
              }))});
              return $.Deferred().resolve().promise();
            });
          });
        }, $.Deferred().resolve().promise());
      };
      var policy = _.size(patch) ? api('PATCH', '/account/dunning', patch).then(function (body) {
        $block.data('payplan-stored', dunningStored(body));
      }, function (error) {
        failed = error;
        return $.Deferred().resolve().promise();
      }) : $.Deferred().resolve().promise();
      policy.then(saveChannels).then(function () {
        if (failed) {
          showErrors($block, failed);
          _.each(failed.fields, function (messages, key) {
            $block.find('[name="dunning.' + key + '"]').closest('.payplan-field').addClass('has-error');
          });
          dunningResult($block, failed.status === 422 ? t('dunning.save_failed') : failed.message, 'error');
          var $first = $block.find('.payplan-field-error:visible, .payplan-alert:visible').first();
          if ($first.length && $first[0].scrollIntoView) {
            $first[0].scrollIntoView({block: 'center'});
          }
        } else {
          dunningResult($block, t('dunning.saved'));
        }
      }).always(function () { $block.data('busy', false); });
    }

    function refreshSecretStates($block, channels) {
      _.each(DUNNING_PROVIDERS, function (names, channel) {
        var set = !!(channels[channel] && channels[channel].has_secret);
        var $channel = $block.find('[data-channel="' + channel + '"]');
        $channel.find('[data-secret-state]').text(t(set ? 'dunning.secret_set' : 'dunning.secret_missing'))
          .toggleClass('payplan-chip--paid', set);
        $channel.find('[name="dunning.channels.' + channel + '.secret"]').val('')
          .attr('placeholder', t(set ? 'dunning.secret_set_placeholder' : 'dunning.secret_missing'));
      });
    }

    function addStep($block) {
      var context = $block.data('payplan-context') || {};
      var users = context.users && context.users.length ? _.where(context.users, {is_active: true}) : managers();
      var last = _.last(dunningForm($block).steps);
      $block.find('[data-rows="steps"]').append(stepRow({day: last && _.isNumber(last.day) ? last.day + 1 : 0,
        channel: 'client_email', template: '', after_cutoff: false, assignee: {kind: 'responsible', user_id: null},
        action: null}, {users: users, pipelines: context.pipelines}));
      renumberSteps($block);
    }

    function bindDunningEvents() {
      var card = '#payplan-panel ';
      var open = function (name, opener) {
        on('click', card + action(name), function () {
          if (panel.deal) {
            opener(cardTarget());
          }
        });
      };
      open('dun-remind', openRemindDialog);
      open('dun-call', openCallDialog);
      open('dun-promise', openPromiseDialog);
      open('dun-lawyer', openLawyerDialog);
      on('click', card + action('dun-waive'), function () {
        openWaiveDialog({lead: panel.deal.lead_id, seq: parseInt($(this).attr('data-seq'), 10), done: remindersDone});
      });
      on('click', '.payplan-dialog[data-dialog="dun-remind"] ' + action('save'), saveRemind);
      on('click', '.payplan-dialog[data-dialog="dun-call"] ' + action('save'), saveCall);
      on('click', '.payplan-dialog[data-dialog="dun-promise"] ' + action('save'), savePromise);
      on('click', '.payplan-dialog[data-dialog="dun-lawyer"] ' + action('save'), saveLawyer);
      on('click', '.payplan-dialog[data-dialog="dun-waive"] ' + action('save'), saveWaive);
      on('change', '.payplan-dialog[data-dialog="dun-call"] [name="outcome"]', function () {
        syncCallDialog($(this).closest('.payplan-dialog'));
      });

      on('click keydown', '.payplan-analytics .payplan-aging__item' + action('debtors-bucket') + ', .payplan-analytics ' +
        '.payplan-debtors ' + action('debtors-bucket'), function (event) {
        if (event.type === 'keydown' && event.key !== 'Enter') {
          return;
        }
        dunning.debtors.bucket = $(this).attr('data-bucket') || '';
        dunning.debtors.page = 1;
        loadDebtors();
        if ($(this).hasClass('payplan-aging__item') && debtorsRoot()[0] && debtorsRoot()[0].scrollIntoView) {
          debtorsRoot()[0].scrollIntoView({block: 'start'});
        }
      });
      on('click', '.payplan-analytics ' + action('debtors-page'), function () {
        dunning.debtors.page = Math.max(1, dunning.debtors.page + parseInt($(this).attr('data-step'), 10));
        loadDebtors();
      });
      var debtor = function (name, opener) {
        on('click', '.payplan-analytics ' + action(name), function () {
          var target = debtorTarget(parseInt($(this).attr('data-row'), 10));
          if (target) {
            opener(target);
          }
        });
      };
      debtor('debtor-remind', openRemindDialog);
      debtor('debtor-promise', openPromiseDialog);
      debtor('debtor-lawyer', openLawyerDialog);
      on('click', '.payplan-analytics ' + action('debtor-task'), function () { debtorTask($(this)); });

      var settingsBlock = '.payplan-dunning-settings ';
      on('click', settingsBlock + action('dun-step-add'), function () { addStep(dunningSettingsRoot()); });
      on('click', settingsBlock + action('dun-step-remove'), function () {
        $(this).closest('[data-row-of="steps"]').remove();
        renumberSteps(dunningSettingsRoot());
      });
      on('change', settingsBlock + '[data-name="action.kind"], ' + settingsBlock + '[data-name="assignee.kind"]', function () {
        syncSteps(dunningSettingsRoot());
      });
      on('change', settingsBlock + '[name="dunning.penalties.mode"]', function () { syncPenalties(dunningSettingsRoot()); });
    }

    // ---- [H] statement import: a 1C bank statement on the analytics page ----------------------------------
    // Everything of the statement import lives in these bankImport* functions and the .payplan-bank-import block.
    var bankImport = {statement: null, busy: false};

    function bankImportRoot() {
      return analyticsPage().find('.payplan-bank-import');
    }

    function bankImportRender() {
      var $root = bankImportRoot();
      if (!$root.length) {
        return;
      }
      var html = '<h2 class="payplan-analytics__title">' + escapeHtml(t('bank_import.title')) + '</h2>' +
        '<div class="payplan-analytics__subtitle">' + escapeHtml(t('bank_import.hint')) + '</div>' +
        '<div class="payplan-field"><input class="payplan-input" type="file" name="bank_statement_file" ' +
        'accept=".txt,text/plain"> <button type="button" class="payplan-button" ' +
        'data-payplan-action="bank-import-upload">' + escapeHtml(t('bank_import.upload')) + '</button></div>' +
        sheetImportHtml() +
        '<div class="payplan-alert" role="alert" data-bank-import-error></div>' +
        '<div data-bank-import-preview></div>';
      $root.html(html);
      if (bankImport.statement) {
        bankImportRenderPreview();
      }
    }

    function bankImportRenderPreview() {
      var statement = bankImport.statement;
      var $preview = bankImportRoot().find('[data-bank-import-preview]');
      var sheet = sheetImportIsSheet(statement);
      var exactOpen = _.filter(statement.documents, function (row) { return row.exact && row.status === 'new'; });
      var rows = _.map(statement.documents, function (row) {
        var target = row.payment_lead_id ? escapeHtml(row.payment_deal_name || ('#' + row.payment_lead_id))
          : row.suggested_lead_id
          ? escapeHtml(row.suggested_deal_name || ('#' + row.suggested_lead_id)) +
            (row.suggested_invoice_number ? ' · ' + escapeHtml(row.suggested_invoice_number) : '')
          : escapeHtml(t('bank_import.no_match'));
        var actions = row.status === 'new'
          ? (row.suggested_lead_id ? '<button type="button" class="payplan-button" data-payplan-action="bank-import-confirm" ' +
              'data-document-id="' + row.id + '">' + escapeHtml(t('bank_import.confirm')) + '</button> ' : '') +
            '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="bank-import-skip" ' +
              'data-document-id="' + row.id + '">' + escapeHtml(t('bank_import.skip')) + '</button>' + sheetImportPickHtml(row)
          : escapeHtml(t('bank_import.status_' + row.status)) + sheetImportReverseHtml(row);
        return '<tr data-bank-document="' + row.id + '"><td>' + escapeHtml(sheet ? String(row.row) : row.number) +
          '</td><td>' + escapeHtml(day(row.credit_date)) + '</td><td>' + escapeHtml(money(row.amount, 'RUB', true)) +
          '</td><td>' + escapeHtml(sheet ? t('bank_import.method_' + row.method) : (row.payer_name || row.payer_inn)) +
          '</td><td>' + escapeHtml(row.purpose) + '</td><td>' + target +
          '</td><td>' + row.confidence + '%</td><td>' + escapeHtml(row.reason) + '</td><td>' + actions + '</td></tr>';
      }).join('');
      var head = _.map([sheet ? 'row' : 'number', 'date', 'amount', sheet ? 'method' : 'payer', sheet ? 'comment' : 'purpose',
        'match', 'confidence', 'reason', 'actions'],
        function (key) { return '<th>' + escapeHtml(t('bank_import.col_' + key)) + '</th>'; }).join('');
      $preview.html('<div class="payplan-analytics__subtitle">' + escapeHtml(sheet
        ? tf('bank_import.sheet_summary', {total: statement.documents_total, errors: statement.row_errors.length})
        : tf('bank_import.summary', {total: statement.documents_total, fresh: statement.documents_new})) + '</div>' +
        sheetImportErrorsHtml(statement) +
        (exactOpen.length ? '<button type="button" class="payplan-button" data-payplan-action="bank-import-confirm-exact">' +
          escapeHtml(tf(sheet ? 'bank_import.confirm_all' : 'bank_import.confirm_exact', {count: exactOpen.length})) + '</button>' : '') +
        '<table class="payplan-table"><thead><tr>' + head + '</tr></thead><tbody>' + rows + '</tbody></table>');
    }

    function bankImportError(error) {
      bankImportRoot().find('[data-bank-import-error]').text(error ? error.message : '').toggle(!!error);
    }

    function bankImportUpload() {
      importFileUpload('bank_statement_file', 'bank_import.choose_file', '/api/v1/bank-statements');
    }

    // One upload for both imports (a 1C statement, an Excel/CSV sheet): the answer is one preview.
    function importFileUpload(fieldName, missingKey, path) {
      var input = bankImportRoot().find('[name="' + fieldName + '"]')[0];
      if (!input || !input.files || !input.files.length) {
        bankImportError({message: t(missingKey)});
        return;
      }
      if (!backendUrl() || bankImport.busy) {
        return;
      }
      var form = new FormData();
      form.append('file', input.files[0]);
      bankImport.busy = true;
      bankImportError(null);
      call({url: backendUrl() + path, type: 'POST', data: form, processData: false,
        contentType: false, dataType: 'json', timeout: DOWNLOAD_TIMEOUT_MS, headers: {'Accept-Language': lang()}})
        .then(function (statement) {
          bankImport.busy = false;
          bankImport.statement = statement;
          bankImportRenderPreview();
        }, function (xhr, textStatus) {
          bankImport.busy = false;
          bankImportError(problem(xhr, textStatus));
        });
    }

    function bankImportDecide(documentId, verb) {
      return api('POST', '/bank-documents/' + documentId + '/' + verb, {}).then(function (row) {
        bankImport.statement.documents = _.map(bankImport.statement.documents, function (old) {
          return old.id === row.id ? row : old;
        });
        bankImportRenderPreview();
        return row;
      }, function (error) {
        bankImportError(error);
        return $.Deferred().reject(error).promise();
      });
    }

    function bankImportConfirmExact() {
      // The server confirms them one by one (each locks its deal); the ones it refused are listed.
      if (bankImport.busy) {
        return;
      }
      bankImport.busy = true;
      bankImportError(null);
      api('POST', '/bank-statements/' + bankImport.statement.id + '/confirm', {}, newKey()).then(function (result) {
        bankImport.busy = false;
        bankImport.statement = result;
        bankImportRenderPreview();
        if (result.failed && result.failed.length) {
          bankImportError({message: _.pluck(result.failed, 'message').join(' ')});
        }
      }, function (error) {
        bankImport.busy = false;
        bankImportError(error);
      });
    }

    function bindBankImportEvents() {
      on('click', '.payplan-bank-import ' + action('bank-import-upload'), function () { bankImportUpload(); });
      on('click', '.payplan-bank-import ' + action('bank-import-confirm'), function () {
        bankImportDecide(parseInt($(this).attr('data-document-id'), 10), 'confirm');
      });
      on('click', '.payplan-bank-import ' + action('bank-import-skip'), function () {
        bankImportDecide(parseInt($(this).attr('data-document-id'), 10), 'skip');
      });
      on('click', '.payplan-bank-import ' + action('bank-import-confirm-exact'), function () { bankImportConfirmExact(); });
      bindSheetImportEvents();
    }

    // ---- [H] payment sheet import (Excel/CSV), storno and manual pick: the sheetImport* functions -----------
    // A sheet lands in the same preview as a statement (one pipeline): its rows are documents with a row number.

    function sheetImportIsSheet(statement) {
      return !!statement && !!statement.source && statement.source !== '1c';
    }

    function sheetImportHtml() {
      return '<h3 class="payplan-analytics__title">' + escapeHtml(t('bank_import.sheet_title')) + '</h3>' +
        '<div class="payplan-analytics__subtitle">' + escapeHtml(t('bank_import.sheet_hint')) + '</div>' +
        '<div class="payplan-field">' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="sheet-import-template" ' +
          'data-format="xlsx">' + escapeHtml(t('bank_import.template_xlsx')) + '</button> ' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="sheet-import-template" ' +
          'data-format="csv">' + escapeHtml(t('bank_import.template_csv')) + '</button></div>' +
        '<div class="payplan-field"><input class="payplan-input" type="file" name="payment_sheet_file" ' +
        'accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"> ' +
        '<button type="button" class="payplan-button" data-payplan-action="sheet-import-upload">' +
        escapeHtml(t('bank_import.sheet_upload')) + '</button></div>';
    }

    function sheetImportErrorsHtml(statement) {
      if (!statement.row_errors || !statement.row_errors.length) {
        return '';
      }
      return '<div class="payplan-alert" data-sheet-import-row-errors style="display:block">' +
        '<div>' + escapeHtml(tf('bank_import.rows_left_out', {count: statement.row_errors.length})) + '</div><ul>' +
        _.map(statement.row_errors, function (error) { return '<li>' + escapeHtml(error.message) + '</li>'; }).join('') +
        '</ul></div>';
    }

    // A document the matcher got wrong or could not match: the deal is named by its lead ID or contract number.
    function sheetImportPickHtml(row) {
      return '<div class="payplan-bank-import__pick" data-sheet-import-pick="' + row.id + '">' +
        '<select class="payplan-input" name="pick_kind">' +
        '<option value="lead_id">' + escapeHtml(t('bank_import.pick_lead')) + '</option>' +
        '<option value="contract_number">' + escapeHtml(t('bank_import.pick_contract')) + '</option></select> ' +
        '<input class="payplan-input" type="text" name="pick_value" placeholder="' +
        escapeHtml(t('bank_import.pick_placeholder')) + '"> ' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="sheet-import-search" ' +
        'data-document-id="' + row.id + '">' + escapeHtml(t('bank_import.search')) + '</button> ' +
        '<select class="payplan-input" name="pick_candidate" style="display:none"></select> ' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="sheet-import-pick" ' +
        'data-document-id="' + row.id + '">' + escapeHtml(t('bank_import.pick')) + '</button></div>';
    }

    // The pick-list: deals of the account with a debt, searched by client, INN or contract; equal amounts first.
    function sheetImportSearch(documentId) {
      var $box = bankImportRoot().find('[data-sheet-import-pick="' + documentId + '"]');
      var query = $.trim($box.find('[name="pick_value"]').val() || '');
      bankImportError(null);
      api('GET', '/bank-documents/' + documentId + '/candidates', {q: query}).then(function (result) {
        var $select = $box.find('[name="pick_candidate"]');
        if (!result.candidates.length) {
          $select.hide().empty();
          bankImportError({message: t('bank_import.search_empty')});
          return;
        }
        $select.html(_.map(result.candidates, function (deal) {
          var label = (deal.name || ('#' + deal.lead_id)) + (deal.contract_number ? ' · № ' + deal.contract_number : '') +
            (deal.client_inn ? ' · ' + t('bank_import.inn') + ' ' + deal.client_inn : '') + ' · ' +
            tf('bank_import.debt', {amount: money(deal.debt, 'RUB', true)}) + (deal.amount_equal ? ' ✓' : '');
          return '<option value="' + deal.lead_id + '">' + escapeHtml(label) + '</option>';
        }).join('')).show();
      }, bankImportError);
    }

    function sheetImportReverseHtml(row) {
      if (row.status !== 'confirmed' || !row.payment_id) {
        return '';
      }
      return '<div class="payplan-bank-import__reverse" data-sheet-import-reverse="' + row.id + '">' +
        '<input class="payplan-input" type="text" name="reverse_reason" placeholder="' +
        escapeHtml(t('bank_import.reverse_reason')) + '"> ' +
        '<button type="button" class="payplan-button payplan-button--secondary" data-payplan-action="sheet-import-reverse" ' +
        'data-document-id="' + row.id + '">' + escapeHtml(t('bank_import.reverse')) + '</button></div>';
    }

    function sheetImportUpload() {
      importFileUpload('payment_sheet_file', 'bank_import.choose_sheet', '/api/v1/payment-imports');
    }

    function sheetImportReplace(row) {
      bankImport.statement.documents = _.map(bankImport.statement.documents, function (old) {
        return old.id === row.id ? row : old;
      });
      bankImportRenderPreview();
    }

    function sheetImportPick(documentId) {
      var $box = bankImportRoot().find('[data-sheet-import-pick="' + documentId + '"]');
      var $candidate = $box.find('[name="pick_candidate"]');
      var picked = $candidate.is(':visible') && $candidate.val();
      var kind = picked ? 'lead_id' : $box.find('[name="pick_kind"]').val();
      var value = picked || $.trim($box.find('[name="pick_value"]').val() || '');
      if (!value || (kind === 'lead_id' && !/^\d+$/.test(value))) {
        bankImportError({message: t('bank_import.pick_missing')});
        return;
      }
      var payload = {};
      payload[kind] = kind === 'lead_id' ? parseInt(value, 10) : value;
      bankImportError(null);
      api('POST', '/bank-documents/' + documentId + '/confirm', payload, newKey()).then(sheetImportReplace, bankImportError);
    }

    function sheetImportReverse(documentId) {
      var reason = $.trim(bankImportRoot().find('[data-sheet-import-reverse="' + documentId + '"] [name="reverse_reason"]')
        .val() || '');
      if (!reason) {
        bankImportError({message: t('bank_import.reverse_reason_missing')});
        return;
      }
      bankImportError(null);
      api('POST', '/bank-documents/' + documentId + '/reverse', {reason: reason}, newKey())
        .then(sheetImportReplace, bankImportError);
    }

    function bindSheetImportEvents() {
      on('click', '.payplan-bank-import ' + action('sheet-import-upload'), function () { sheetImportUpload(); });
      on('click', '.payplan-bank-import ' + action('sheet-import-template'), function () {
        var format = $(this).attr('data-format') === 'csv' ? 'csv' : 'xlsx';
        download('/api/v1/payment-imports/template.' + format, null, 'payplan-payments.' + format).fail(bankImportError);
      });
      on('click', '.payplan-bank-import ' + action('sheet-import-pick'), function () {
        sheetImportPick(parseInt($(this).attr('data-document-id'), 10));
      });
      on('click', '.payplan-bank-import ' + action('sheet-import-search'), function () {
        sheetImportSearch(parseInt($(this).attr('data-document-id'), 10));
      });
      on('click', '.payplan-bank-import ' + action('sheet-import-reverse'), function () {
        sheetImportReverse(parseInt($(this).attr('data-document-id'), 10));
      });
    }

    // ---- events ---------------------------------------------------------------------------------

    function on(events, selector, handler) {
      $(document).off(events.split(' ').join(NS + ' ') + NS, selector)
        .on(events.split(' ').join(NS + ' ') + NS, selector, handler);
    }

    function action(name) {
      return '[data-payplan-action="' + name + '"]';
    }

    // ---- [F] the client page: its link (copy, "new link"), proposals, early payoff -------------------------
    // Everything of the client page lives in these clientPage* functions and the data-client-page block.

    var clientPage = {seq: 0, body: null};

    function clientPageRoot() {
      return panelRoot().find('[data-client-page]');
    }

    function clientPageLoad() {
      var deal = panel.deal;
      if (!deal || !deal.schedule || deal.direction === 'outgoing') {
        return;
      }
      var seq = clientPage.seq += 1;
      api('GET', '/deals/' + currentLeadId() + '/client-page').then(function (body) {
        if (seq === clientPage.seq) {
          clientPage.body = body;
          clientPageRender();
        }
      }, function () { /* the card works without the link block */ });
    }

    function clientPageProposalText(proposal) {
      if (!proposal) {
        return '';
      }
      var when = proposal.state === 'pending' ? timestamp(proposal.expires_at) : timestamp(proposal.decided_at);
      return tf('client_page.proposal_' + proposal.state, {date: when || ''});
    }

    function clientPageRender() {
      var body = clientPage.body;
      var currency = panel.deal ? panel.deal.currency : 'RUB';
      var debt = panel.deal ? (kopecks(panel.deal.debt) || 0) : 0;
      var html = '<section class="payplan-client-page" data-client-page>' +
        '<label class="payplan-client-page__label" for="payplan-client-page-url">' +
        escapeHtml(t('client_page.title')) + '</label>' +
        '<div class="payplan-client-page__row">' +
        '<input id="payplan-client-page-url" class="payplan-input" type="text" readonly data-client-page-url value="' +
        escapeHtml(body.url) + '">' +
        '<button type="button" class="payplan-button" data-payplan-action="client-page-copy">' +
        escapeHtml(t('client_page.copy')) + '</button>' +
        '<button type="button" class="payplan-button payplan-button--ghost" data-payplan-action="client-page-rotate">' +
        escapeHtml(t('client_page.rotate')) + '</button></div>';
      if (body.registration_url) {
        html += '<div class="payplan-client-page__proposal"><a href="' + escapeHtml(body.registration_url) +
          '" target="_blank" rel="noopener" data-registration-link>' + escapeHtml(t('client_page.registration')) +
          '</a></div>';
      }
      if (body.proposal) {
        html += '<div class="payplan-client-page__proposal" data-proposal-state="' + escapeHtml(body.proposal.state) +
          '">' + escapeHtml(clientPageProposalText(body.proposal)) + '</div>';
      }
      if (debt > 0) {
        html += '<details class="payplan-client-page__payoff" data-early-payoff><summary>' +
          escapeHtml(t('client_page.payoff_title')) + '</summary>' +
          '<label>' + escapeHtml(tf('client_page.payoff_amount', {currency: CURRENCY_SIGNS[currency] || currency})) +
          ' <input class="payplan-input" type="text" inputmode="decimal" name="payoff_amount"></label>' +
          '<label><select class="payplan-input" name="payoff_mode">' +
          // [J] blank: the account's rule (early_payoff_mode in the settings)
          '<option value="">' + escapeHtml(t('client_page.payoff_default')) + '</option>' +
          '<option value="shorten">' + escapeHtml(t('client_page.payoff_shorten')) + '</option>' +
          '<option value="lower">' + escapeHtml(t('client_page.payoff_lower')) + '</option></select></label>' +
          '<div class="payplan-client-page__row">' +
          '<button type="button" class="payplan-button" data-payplan-action="payoff-preview">' +
          escapeHtml(t('client_page.payoff_preview')) + '</button>' +
          '<button type="button" class="payplan-button payplan-button--primary" data-payplan-action="payoff-apply" disabled>' +
          escapeHtml(t('client_page.payoff_apply')) + '</button></div>' +
          '<div class="payplan-client-page__result" data-payoff-result role="status"></div></details>';
      }
      html += '</section>';
      clientPageRoot().remove();
      var $documents = panelRoot().find('[data-documents]');
      if ($documents.length) {
        $documents.after(html);
      } else {
        panelRoot().find('.payplan-actions').after(html);
      }
    }

    function clientPageCopy() {
      var $input = clientPageRoot().find('[data-client-page-url]');
      var url = $input.val();
      var done = function () { flash(t('client_page.copied')); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(done, function () {
          $input.trigger('select');
          flash(t('client_page.copy_by_hand'), 'error');
        });
      } else {
        $input.trigger('select');
        try {
          document.execCommand('copy');
          done();
        } catch (error) {
          flash(t('client_page.copy_by_hand'), 'error');
        }
      }
    }

    function clientPageRotate($button) {
      $button.prop('disabled', true);
      api('POST', '/deals/' + currentLeadId() + '/client-page/rotate', {}).then(function (body) {
        clientPage.body = body;
        clientPageRender();
        flash(t('client_page.rotated'));
      }, function (error) {
        $button.prop('disabled', false);
        flash(error.message, 'error');
      });
    }

    function clientPagePropose() {
      var $root = dialogRoot();
      submit('POST', '/deals/' + currentLeadId() + '/schedule/proposals', scheduleBody($root), function (body) {
        clientPage.body = body;
        loadDeal(true).then(function () { flash(t('client_page.proposed')); });
      });
    }

    function payoffBody() {
      var $root = clientPageRoot();
      return {amount: normalizedAmount($root.find('[name="payoff_amount"]').val()),
        mode: $root.find('[name="payoff_mode"]').val(),
        expected_version: panel.deal && panel.deal.schedule ? panel.deal.schedule.version : null};
    }

    function payoffPreview() {
      var $root = clientPageRoot();
      var currency = panel.deal.currency;
      var $result = $root.find('[data-payoff-result]');
      api('POST', '/deals/' + currentLeadId() + '/early-payoff/preview', payoffBody()).then(function (plan) {
        $result.removeAttr('data-tone').html('<ol class="payplan-lines">' + _.map(plan.changes ? plan.changes.lines : [],
          function (line) {
            var was = line.was ? day(line.was.due_date) + ' ' + money(line.was.amount, currency) : '—';
            var becomes = line.becomes ? day(line.becomes.due_date) + ' ' + money(line.becomes.amount, currency)
              : t('client_page.removed');
            return '<li data-change="' + escapeHtml(line.change) + '">' + escapeHtml(was) + ' → ' +
              escapeHtml(becomes) + '</li>';
          }).join('') + '</ol>');
        $root.find(action('payoff-apply')).prop('disabled', false);
      }, function (error) {
        $result.attr('data-tone', 'error').text(error.message);
        $root.find(action('payoff-apply')).prop('disabled', true);
      });
    }

    function payoffApply($button) {
      $button.prop('disabled', true);
      api('POST', '/deals/' + currentLeadId() + '/early-payoff', payoffBody(), newKey()).then(function () {
        loadDeal(true).then(function () { flash(t('client_page.payoff_applied')); });
      }, function (error) {
        clientPageRoot().find('[data-payoff-result]').attr('data-tone', 'error').text(error.message);
      });
    }

    // ---- [K] automatic payouts (outgoing plans): the client's requisites, approve / retry each payout ------
    // Everything of it lives in these autoPayout* functions and the data-auto-payouts block of the deal card.

    function autoPayoutsSlot() {
      return panelRoot().find('[data-auto-payouts]');
    }

    function autoPayoutsLoad() {
      var deal = panel.deal;
      if (!deal || deal.direction !== 'outgoing' || deal.status === 'no_plan') {
        return;
      }
      if (!autoPayoutsSlot().length) {
        panelRoot().find('.payplan-card').append('<section class="payplan-section is-open payplan-auto-payouts" ' +
          'data-payplan-section="auto_payouts" data-auto-payouts></section>');
      }
      var lead = deal.lead_id;
      api('GET', '/deals/' + lead + '/payouts').then(function (state) {
        if (panel.deal && panel.deal.lead_id === lead) {
          autoPayoutsRender(state, deal.currency);
        }
      }, function (error) {
        autoPayoutsSlot().html('<div class="payplan-muted">' + escapeHtml(error.message) + '</div>');
      });
    }

    function autoPayoutStatus(row) {
      if (row.state === 'paid') {
        return t('auto_payouts.state_paid');
      }
      if (row.gateway_status === 'canceled') {
        return tf('auto_payouts.state_failed', {reason: row.failure || '—'});
      }
      if (row.gateway_status === 'pending' || row.gateway_status === 'sending') {
        return t('auto_payouts.state_pending');
      }
      return t(row.approved ? 'auto_payouts.state_approved' : 'auto_payouts.state_waiting');
    }

    function autoPayoutsRender(state, currency) {
      var destination = state.destination || {kind: 'sbp', phone: '', bank_id: '', auto: false};
      var option = function (kind) {
        return '<option value="' + kind + '"' + (destination.kind === kind ? ' selected' : '') + '>' +
          escapeHtml(t('auto_payouts.kind_' + kind)) + '</option>';
      };
      var input = function (name, value, label) {
        return '<label class="payplan-field"><span class="payplan-label">' + escapeHtml(t('auto_payouts.' + label)) +
          '</span><input class="payplan-input" name="' + name + '" value="' + escapeHtml(value || '') + '">' +
          '<span class="payplan-field-error" data-error-for="' + name + '"></span></label>';
      };
      var rows = _.map(_.filter(state.payouts, function (row) { return row.state !== 'closed'; }), function (row) {
        return '<li class="payplan-auto-payouts__row" data-payout-id="' + row.id + '">' +
          '<span>' + escapeHtml(day(row.due_date)) + ' · ' + escapeHtml(money(row.amount, currency)) + '</span> ' +
          '<span class="payplan-muted">' + escapeHtml(autoPayoutStatus(row)) + '</span>' +
          (row.can_approve && destination.auto ? ' <button type="button" class="payplan-button payplan-button--ghost" ' +
            'data-payplan-action="auto-payout-approve" data-id="' + row.id + '">' +
            escapeHtml(t(row.gateway_status === 'canceled' ? 'auto_payouts.retry' : 'auto_payouts.approve')) +
            '</button>' : '') + '</li>';
      }).join('');
      autoPayoutsSlot().html(
        '<div class="payplan-block__title">' + escapeHtml(t('auto_payouts.title')) + '</div>' +
        (state.payouts_connected ? '' : '<div class="payplan-note payplan-note--warning">' +
          escapeHtml(t('auto_payouts.not_connected')) + '</div>') +
        '<div class="payplan-grid payplan-grid--2" data-auto-payout-form>' +
        '<label class="payplan-field"><span class="payplan-label">' + escapeHtml(t('auto_payouts.kind')) + '</span>' +
        '<select class="payplan-input" name="kind">' + option('sbp') + option('bank_card') + option('yoo_money') +
        '</select></label>' +
        input('phone', destination.phone, 'phone') + input('bank_id', destination.bank_id, 'bank_id') +
        input('payout_token', '', destination.payout_token_set ? 'token_set' : 'token') +
        input('account_number', destination.account_number, 'wallet') +
        '<label class="payplan-field"><input type="checkbox" name="auto"' + (destination.auto ? ' checked' : '') +
        '> ' + escapeHtml(t('auto_payouts.auto')) + '</label>' +
        '</div>' +
        '<button type="button" class="payplan-button" data-payplan-action="auto-payout-save">' +
        escapeHtml(t('auto_payouts.save')) + '</button>' +
        '<div class="payplan-muted">' + escapeHtml(t('auto_payouts.hint')) + '</div>' +
        '<ol class="payplan-auto-payouts__list">' + (rows || '<li class="payplan-muted">' +
          escapeHtml(t('auto_payouts.none')) + '</li>') + '</ol>');
    }

    function autoPayoutSave($button) {
      var $form = autoPayoutsSlot().find('[data-auto-payout-form]');
      var body = {kind: fieldValue($form, 'kind'), phone: fieldValue($form, 'phone'),
        bank_id: fieldValue($form, 'bank_id'), account_number: fieldValue($form, 'account_number'),
        auto: $form.find('[name="auto"]').is(':checked')};
      if (fieldValue($form, 'payout_token')) {
        body.payout_token = fieldValue($form, 'payout_token');
      }
      $button.prop('disabled', true);
      $form.find('[data-error-for]').text('');
      api('PUT', '/deals/' + currentLeadId() + '/payout-destination', body).then(function (state) {
        autoPayoutsRender(state, panel.deal.currency);
        flash(t('auto_payouts.saved'));
      }, function (error) {
        $button.prop('disabled', false);
        _.each(error.fields || {}, function (messages, name) {
          $form.find('[data-error-for="' + name + '"]').text(messages.join(' '));
        });
        flash(error.message, 'error');
      });
    }

    function autoPayoutApprove($button) {
      $button.prop('disabled', true);
      api('POST', '/deals/' + currentLeadId() + '/payouts/' + $button.attr('data-id') + '/approve', {})
        .then(function (state) {
          autoPayoutsRender(state, panel.deal.currency);
          flash(t('auto_payouts.approved'));
          return loadDeal(true);
        }, function (error) {
          $button.prop('disabled', false);
          flash(error.message, 'error');
        });
    }

    function bindAutoPayoutEvents() {
      on('click', '#payplan-panel ' + action('auto-payout-save'), function () { autoPayoutSave($(this)); });
      on('click', '#payplan-panel ' + action('auto-payout-approve'), function () { autoPayoutApprove($(this)); });
    }

    function bindClientPageEvents() {
      on('click', '#payplan-panel ' + action('client-page-copy'), clientPageCopy);
      on('click', '#payplan-panel ' + action('client-page-rotate'), function () { clientPageRotate($(this)); });
      on('click', '#payplan-panel ' + action('payoff-preview'), payoffPreview);
      on('click', '#payplan-panel ' + action('payoff-apply'), function () { payoffApply($(this)); });
      on('click', '.payplan-dialog[data-dialog="schedule"] ' + action('propose'), clientPagePropose);
    }

    function bindEvents() {
      on('click', '#payplan-panel ' + action('retry'), function () { loadDeal(); });
      bindClientPageEvents();
      bindAutoPayoutEvents();
      on('click', '#payplan-panel ' + action('schedule'), openSchedule);
      on('click', '#payplan-panel ' + action('payment'), function () { openPayment('payment'); });
      on('click', '#payplan-panel ' + action('full'), function () { openPayment('full'); });
      on('click', '#payplan-panel ' + action('invoice'), openInvoice);
      on('click', '#payplan-panel ' + action('autopay-off'), function () { disableAutopay($(this)); });
      on('click', '#payplan-panel ' + action('toggle'), function () {
        var $section = $(this).closest('[data-payplan-section]').toggleClass('is-open');
        panel.open[$section.attr('data-payplan-section')] = $section.hasClass('is-open');
      });
      on('click', '#payplan-panel ' + action('pdf'), function (event) {
        event.preventDefault();
        downloadDocument('invoice', parseInt($(this).attr('data-id'), 10));
      });
      on('click', '#payplan-panel ' + action('document'), function (event) {
        event.preventDefault();
        downloadDocument($(this).attr('data-kind'));
      });
      on('click', '#payplan-panel ' + action('receipt'), function (event) {
        event.preventDefault();
        downloadDocument('receipt', parseInt($(this).attr('data-id'), 10));
      });
      on('click', '#payplan-panel ' + action('reverse'), function (event) {
        event.preventDefault();
        openCorrection('reverse', parseInt($(this).attr('data-id'), 10));
      });
      on('click', '#payplan-panel ' + action('refund'), function (event) {
        event.preventDefault();
        openCorrection('refund', parseInt($(this).attr('data-id'), 10));
      });

      on('click', '.payplan-dialog ' + action('cancel'), closeDialog);
      on('click', '.payplan-dialog[data-dialog="schedule"] ' + action('save'), saveSchedule);
      on('click', '.payplan-dialog[data-dialog="payment"] ' + action('save'), savePayment);
      on('click', '.payplan-dialog[data-dialog="full"] ' + action('save'), saveFullPayment);
      on('click', '.payplan-dialog[data-dialog="invoice"] ' + action('save'), saveInvoice);
      on('click', '.payplan-dialog[data-dialog="correction"] ' + action('save'), saveCorrection);
      on('input change', '.payplan-dialog[data-dialog="payment"] [name="amount"]', updateNewDebt);
      on('change', '.payplan-dialog[data-dialog="invoice"] [name="installment_seq"]', function () {
        updateInvoiceAmount(dialogRoot());
      });
      on('input change', '.payplan-dialog[data-dialog="schedule"] :input', function () {
        var $root = dialogRoot();
        if (dialog && this.name) {
          dialog.touched[this.name] = true;
        }
        syncScheduleForm($root);
        previewSoon(PREVIEW_DELAY_MS);
      });
      on('click', '.payplan-dialog ' + action('add-row'), function () {
        var $root = $(this).closest('.payplan-dialog');
        addRow($root, $(this).attr('data-list'));
        syncScheduleForm($root);
      });
      on('click', '.payplan-dialog ' + action('remove-row'), function () {
        var $root = $(this).closest('.payplan-dialog');
        var list = $(this).closest('[data-row-of]').attr('data-row-of');
        $(this).closest('[data-row-of]').remove();
        renumberRows($root, list);
        previewSoon(0);
      });
      on('keydown', '.payplan-dialog :input', function (event) {
        if (event.key === 'Enter' && this.tagName !== 'TEXTAREA') {
          event.preventDefault();
          $(this).closest('.payplan-dialog').find(action('save')).trigger('click');
        }
      });

      on('change', '.payplan-analytics .payplan-filters :input', function () {
        rowsFromStart();
        refreshAnalytics();
      });
      on('click', '.payplan-analytics ' + action('preset'), function () {
        var range = presetRange($(this).attr('data-preset'));
        analyticsPage().find('[name="date_from"]').val(range.date_from);
        analyticsPage().find('[name="date_to"]').val(range.date_to);
        rowsFromStart();
        refreshAnalytics();
      });
      on('click', '.payplan-analytics ' + action('kind'), function () {
        analytics.kind = $(this).attr('data-kind');
        rowsFromStart();
        analyticsPage().find(action('kind')).each(function () {
          $(this).toggleClass('is-active', $(this).attr('data-kind') === analytics.kind);
        });
        loadRows();
      });
      on('click', '.payplan-analytics ' + action('page'), function () {
        rowsStep(parseInt($(this).attr('data-step'), 10));
      });
      on('click', '.payplan-analytics ' + action('export'), function () { exportAnalytics($(this)); });
      on('click', '.payplan-subscription ' + action('subscription'), function () { changeSubscription($(this)); });
      on('click', '.payplan-analytics ' + action('counterparty-group'), function () {
        counterparties.groupBy = $(this).attr('data-group-by') === 'contract' ? 'contract' : 'counterparty';
        loadCounterparties();
      });
      on('click', '.payplan-analytics ' + action('counterparty-export'), function () {
        exportCounterparties($(this));
      });
      on('click', '.payplan-analytics ' + action('figures-forecast'), function () {
        figures.forecast = $(this).attr('data-forecast') === 'months' ? 'months' : 'weeks';
        renderFigures();
      });
      on('click', '.payplan-analytics ' + action('figures-more'), function () { moreFigures($(this)); });

      on('click', '.payplan-account ' + action('template-save'), function () { saveTemplate(templatesRoot($(this))); });
      on('click', '.payplan-account ' + action('template-reset'), function () { resetTemplate(templatesRoot($(this))); });
      on('click', '.payplan-account ' + action('template-preview'), function () {
        previewTemplate(templatesRoot($(this)));
      });
      on('change', '.payplan-account [data-template-kind]', function () {
        loadTemplate($(this).closest('.payplan-account'));
      });
      on('click', '.payplan-account ' + action('test-cloudpayments'), function () { testCloudPayments($(this)); });
      on('click', '.payplan-account ' + action('add-row'), function () {
        addRow($(this).closest('.payplan-account'), $(this).attr('data-list'));
      });
      on('click', '.payplan-account ' + action('remove-row'), function () {
        var $block = $(this).closest('.payplan-account');
        $(this).closest('[data-row-of]').remove();
        renumberRows($block, 'reminders');
      });
      bindDunningEvents();
      bindBankImportEvents();
      bindClientSettingsEvents();
      bindPlanRulesEvents();
    }

    function unbindEvents() {
      $(document).off(NS);
      $(window).off(NS);
      _.each(timers, function (timer) { clearTimeout(timer); clearInterval(timer); });
      timers = {};
    }

    // The platform does not load a widget's stylesheet by itself.
    function ensureStyles() {
      if (!document.getElementById('payplan-style')) {
        $('head').append('<link id="payplan-style" rel="stylesheet" href="' + escapeHtml(self.params.path) +
          '/style.css?v=' + escapeHtml(settings().version || '') + '">');
      }
    }

    // ---- the platform's callbacks ---------------------------------------------------------------

    this.callbacks = {
      render: function () {
        var system = self.system() || {};
        ensureStyles();
        if (system.area === 'lcard' && currentLeadId() > 0) {
          self.render_template({
            caption: {class_name: 'payplan-caption'},
            body: '',
            render: '<div class="payplan payplan-panel" id="payplan-panel">' + loadingHtml() + '</div>'
          });
          loadDeal();
          startPolling();
        }
        return true;
      },
      init: function () {
        return true;
      },
      bind_actions: function () {
        bindEvents();
        return true;
      },
      settings: function ($modal) {
        openAccountSettings($modal);
        return true;
      },
      onSave: function (data) {
        if (!data || data.active !== 'N') {
          saveAccountSettings($('.payplan-account'));
          saveDunningSettings();
        }
        return true;
      },
      destroy: function () {
        unbindEvents();
        closeDialog();
        panel.seq += 1;
        analytics.seq += 1;
        if (analytics.chart && analytics.chart.destroy) {
          analytics.chart.destroy();
        }
        analytics.chart = null;
      },
      advancedSettings: function () {
        bindEvents();
        openAnalytics();
        return true;
      },
      dpSettings: function () {},
      contacts: {selected: function () {}},
      leads: {selected: function () {}},
      tasks: {selected: function () {}}
    };
    return this;
  };
});
