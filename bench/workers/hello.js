// The "hello" scenario: a trivial fetch handler.
export default {
  fetch() {
    return new Response("Hello World!");
  },
};
