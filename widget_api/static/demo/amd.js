/* A tiny AMD loader: the part of RequireJS that amoCRM widgets use (define/require, anonymous modules
 * loaded by URL, named shims). Demo only; amoCRM brings its own RequireJS. */
(function (global) {
  'use strict';
  var modules = {};
  var anonymous = [];

  function isUrl(id) {
    return /^(https?:)?\/|\.js(\?|$)/.test(id);
  }

  function define(id, deps, factory) {
    if (typeof id !== 'string') {
      factory = deps;
      deps = id;
      id = null;
    }
    if (!Array.isArray(deps)) {
      factory = deps;
      deps = [];
    }
    var record = {deps: deps, factory: factory, waiting: []};
    if (id === null) {
      anonymous.push(record);
    } else {
      modules[id] = Object.assign(modules[id] || {waiting: []}, {deps: deps, factory: factory});
    }
  }
  define.amd = {};

  function settle(record, value, error) {
    record.done = !error;
    record.error = error;
    record.value = value;
    record.waiting.splice(0).forEach(function (waiter) { waiter(); });
  }

  function instantiate(id, record) {
    if (record.started) {
      return;
    }
    record.started = true;
    requireAll(record.deps, function () {
      try {
        var value = typeof record.factory === 'function' ? record.factory.apply(global, arguments) : record.factory;
        settle(record, value, null);
      } catch (error) {
        settle(record, undefined, error);
      }
    }, function (error) { settle(record, undefined, error); });
  }

  function loadScript(id, record) {
    var script = document.createElement('script');
    script.src = id;
    script.async = true;
    script.onload = function () {
      var defined = anonymous.shift();
      if (defined) {
        record.deps = defined.deps;
        record.factory = defined.factory;
        instantiate(id, record);
      } else if (record.factory === undefined) {
        settle(record, undefined, null);  // a plain script: it set its globals
      } else {
        instantiate(id, record);
      }
    };
    script.onerror = function () { settle(record, undefined, new Error('Cannot load ' + id)); };
    document.head.appendChild(script);
  }

  function load(id, done, fail) {
    var record = modules[id];
    if (!record) {
      if (!isUrl(id)) {
        fail(new Error('Unknown module ' + id));
        return;
      }
      record = modules[id] = {waiting: [], loading: true};
      record.waiting.push(function () { return record.error ? fail(record.error) : done(record.value); });
      loadScript(id, record);
      return;
    }
    if (record.done || record.error) {
      return record.error ? fail(record.error) : done(record.value);
    }
    record.waiting.push(function () { return record.error ? fail(record.error) : done(record.value); });
    if (!record.loading) {
      instantiate(id, record);
    }
  }

  function requireAll(deps, callback, errback) {
    var values = new Array(deps.length);
    var left = deps.length;
    var failed = false;
    if (!left) {
      callback.apply(global, values);
      return;
    }
    deps.forEach(function (id, index) {
      load(id, function (value) {
        values[index] = value;
        left -= 1;
        if (!left && !failed) {
          callback.apply(global, values);
        }
      }, function (error) {
        if (!failed) {
          failed = true;
          if (errback) {
            errback(error);
          } else if (global.console) {
            global.console.error(error);
          }
        }
      });
    });
  }

  function require(deps, callback, errback) {
    requireAll(typeof deps === 'string' ? [deps] : deps, callback || function () {}, errback);
  }

  global.define = define;
  global.require = global.requirejs = require;
}(window));
