export class DurableObjectExample {
    constructor(state, env) {
        this.state = state;
    }

    async fetch(request) {
        let ip = request.headers.get('CF-Connecting-IP');
        let data = await request.text() || "No data!";
        let storagePromise = this.state.storage.put(ip, data);
        await storagePromise;
        return new Response(ip + ' stored ' + data);
    }
}

// required for the script to be accepted by the API endpoint
export default {
    async fetch(request, env) {
        return new Response("Hello World");
    }
}
