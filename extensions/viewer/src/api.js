// Requests to the product's API: same origin, the session cookie sent, errors as messages.
import { config, t } from "./i18n.js";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export const url = (path) => `${config.api}${path}`;

// The page's CSRF token: the API wants it with every POST the session cookie authenticates.
const csrfToken = () => JSON.parse(document.getElementById("viewer-csrf")?.textContent || "{}").token || "";

/** JSON from the API; an ApiError saying what went wrong otherwise. */
export async function request(path, { body, signal, method, form } = {}) {
  const verb = method || (body || form ? "POST" : "GET");
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  if (verb !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let response;
  try {
    response = await fetch(url(path), {
      method: verb,
      headers,
      body: body ? JSON.stringify(body) : form,
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(t("Le serveur ne répond pas. Vérifiez votre connexion."), 0);
  }
  if (response.ok) return response.json();
  let detail = "";
  try {
    const payload = await response.json();
    detail = payload.description || payload.detail || "";
    if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
  } catch {
    /* not JSON */
  }
  if (response.status === 401) throw new ApiError(t("Votre session a expiré : reconnectez-vous."), 401);
  if (response.status >= 500) {
    const unavailable = t("Le service est momentanément indisponible ({status}).", { status: response.status });
    throw new ApiError(detail ? `${unavailable} ${detail}` : unavailable, response.status);
  }
  throw new ApiError(detail || t("Requête refusée ({status}).", { status: response.status }), response.status);
}
